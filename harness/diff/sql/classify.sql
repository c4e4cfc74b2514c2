-- Classification (harness/diff/classify.py): every aligned pair or unpaired event becomes one
-- diff row — match, field_mismatch, missing, extra or order (design.md §6).

{# each event's JSON minus the ignored fields (`s`) and its hash (`h`), in one pass #}
{% macro stripped(side, view, eid, strip) -%}
create or replace temp table _{{ side }}j as
select eid, s, md5_number(tick_seq::varchar || ' ' || emit_seq::varchar || ' '
           || (case when emit_seq < 0 then -1 else emit_index end)::varchar
           || ' ' || s) as h
from (select {{ eid }} as eid, tick_seq, emit_seq, emit_index,
             {{ strip }} as s from {{ view }})
{%- endmacro %}

{% macro tick_times() -%}
create or replace temp table _tick_ts as
select seq, min(ts) as ts from observations
where seq in (select tick_seq from _cmp) group by seq
{%- endmacro %}

{# pair_id: an event is in at most one pair and eids are >= 0, so this is unique without a
   row_number() window (which runs single-threaded) #}
{% macro compared() -%}
create or replace temp table _cmp as select coalesce(pid, -1 - cid) as pair_id, * from _pairs
{%- endmacro %}

{# stripped JSON equal => match without further work; only pairs still unequal are compared
   field by field (fields.sql, which reads this view once: no copy of the JSON) #}
{% macro todo() -%}
create or replace temp view _todo as
select x.pair_id, pj.s as p_s, cj.s as c_s
from _cmp x join _pj pj on pj.eid = x.pid join _cj cj on cj.eid = x.cid
where pj.s <> cj.s
{%- endmacro %}

{% macro diff() -%}
create or replace temp table diff as
with base as (
  select c.*, f.fields,
         case when c.pid is null then 'extra'
              when c.cid is null then 'missing'
              when f.fields is not null then 'field_mismatch'
              else 'match' end as base_class
  from _cmp c left join _fields f using (pair_id)),
-- emission order only matters where a tick has several matched events: rank just those
multi as (select shard, tick_seq from base where base_class = 'match'
          group by all having count(*) > 1),
ranked as (
  select b.pair_id,
         row_number() over (partition by b.shard, b.tick_seq order by b.primary_pos) as p_rank,
         row_number() over (partition by b.shard, b.tick_seq order by b.candidate_pos) as c_rank
  from base b semi join multi m on m.shard = b.shard and m.tick_seq = b.tick_seq
  where b.base_class = 'match')
select ticker, type, direction, tick_seq, primary_tick_seq, candidate_tick_seq,
       primary_index, candidate_index, primary_pos, candidate_pos, shard,
       case when r.p_rank <> r.c_rank then 'order' else base_class end as class,
       coalesce(fields, []::struct(path varchar, "primary" varchar, candidate varchar)[])
         as fields,
       null::varchar as accepted_by,
       t.ts as tick_ts,
       -- the candidate returned the pair's event on a later call than the primary (or only at
       -- flush): the same event for the same tick, delivered late; no rule forgives it
       case when pid is null or cid is null then null
            when primary_emit_seq < 0 then false
            else candidate_emit_seq < 0 or candidate_emit_seq > primary_emit_seq end as late
from base left join ranked r using (pair_id)
left join _tick_ts t on t.seq = base.tick_seq
{%- endmacro %}

{# the diff rows where the stacks diverge, each with its `kind`: its class, or 'late' for a match
   the candidate returned on a later call (`late`, NULL in diffs written before it existed) #}
{% macro divergent() -%}
(select *, if(class = 'match', 'late', class) as kind from diff
 where class <> 'match' or coalesce(late, false))
{%- endmacro %}

{% macro first_divergence() -%}
select tick_seq, ticker, kind from {{ divergent() }}
order by tick_seq, coalesce(primary_pos, candidate_pos) limit 1
{%- endmacro %}

{# the ticker's ticks around the first divergence: `$w` before it, it and `$w` after #}
{% macro tick_window() -%}
(select * from observations where ticker = $t and seq < $s order by seq desc limit $w)
union all
(select * from observations where ticker = $t and seq >= $s order by seq limit $w + 1)
order by seq
{%- endmacro %}

{% macro window_events(side) -%}
select event_json from events_{{ side }}
where ticker = $t and tick_seq between $lo and $hi order by shard, emit_pos
{%- endmacro %}

{% macro divergence_rows() -%}
select type, direction, kind, fields from {{ divergent() }} where tick_seq = $s
{%- endmacro %}

{# What the rows each rule accepted hold, as one digest per rule (`accepted_rows_digest[<id>]`
against a rule's `expect_digest`): a count does not see a defect confined to rows a rule already
accepts (one more differing field, another value). Each row: its key, class, emit indices and
every differing field with both values; rows in text order, so shards, workers and resumes give
the same digest. Format as `harness.core.identity.digest`: sha256: and 16 hex digits. #}
{% macro accepted_digests() -%}
CREATE VIEW accepted_digests AS
SELECT accepted_by AS id, count(*) AS n,
       'sha256:' || left(sha256(string_agg(row_text, chr(10) ORDER BY row_text)), 16) AS digest
FROM (SELECT accepted_by,
             concat_ws('|', coalesce(ticker, '∅'), coalesce(type, '∅'), coalesce(direction, '∅'),
                       coalesce(tick_seq::VARCHAR, '∅'), class,
                       coalesce(primary_index::VARCHAR, '∅'), coalesce(candidate_index::VARCHAR, '∅'),
                       coalesce(array_to_string(list_transform(fields, lambda f: coalesce(f.path::VARCHAR, '∅')
                                || '=' || coalesce(f."primary"::VARCHAR, '∅') || '→'
                                || coalesce(f.candidate::VARCHAR, '∅')), ';'), '')) AS row_text
      FROM diff WHERE class <> 'match' AND accepted_by IS NOT NULL)
GROUP BY accepted_by
{%- endmacro %}

{# What the primary emitted, as one digest (`primary_events_reference` against the digest a scope
declares in `primary_events`): the primary is the reference, so for a recording its events are
known; in one process a candidate can change them through state the two share, and then no diff
shows it. Each event: the seq of the call that returned it and its transport text; in text order
of their md5s, so shards, workers, call order and resumes give the same digest. A table: every
phase's checks read it. #}
{% macro primary_events_digest() -%}
CREATE TABLE primary_events_digest AS
SELECT count(*) AS n,
       'sha256:' || left(sha256(coalesce(string_agg(h, chr(10) ORDER BY h), '')), 16) AS digest
FROM (SELECT md5(coalesce(emit_seq::VARCHAR, '∅') || '|' || coalesce(event_json, '∅')) AS h
      FROM events_primary)
{%- endmacro %}


{# Every event's `event_id` identifies it (TickStock: time + uuid; deterministic in replay). The
diff ignores its value, which the primary declares ignorable (ids embed counters that differ
between stacks), so ids that collide or go missing differ in no compared field. Per side: events,
events without an id, and ids repeated. One row (aggregates without GROUP BY). #}
{% macro event_ids() -%}
CREATE TABLE event_ids AS
SELECT p.*, c.*
FROM (SELECT count(*) AS p_events, count(*) - count(id) AS p_without,
             count(id) - count(DISTINCT id) AS p_repeats
      FROM (SELECT json_extract_string(event_json, '$.event_id') AS id FROM events_primary)) p,
     (SELECT count(*) AS c_events, count(*) - count(id) AS c_without,
             count(id) - count(DISTINCT id) AS c_repeats
      FROM (SELECT json_extract_string(event_json, '$.event_id') AS id FROM events_candidate)) c
{%- endmacro %}

-- Event alignment (harness/diff/align.py): pair each primary event with at most one candidate
-- event on the diff key. Windows and joins run on narrow key columns only; the JSON is joined
-- back afterwards by eid, because a window operator materialises every column it is given.

{% macro side_keys(side, view, eid, keys, parts) -%}
create or replace temp table _{{ side }} as
select *, row_number() over (partition by {{ parts }} order by eid) as occ
from (select {{ eid }} as eid, tick_seq, emit_seq, emit_index, emit_pos, shard, ticker, type,
             direction, {{ keys }} from {{ view }})
{%- endmacro %}

{% macro exact(on) -%}
create or replace temp table _fo as
select p.eid as pid, c.eid as cid from _p p full outer join _c c on {{ on }} and p.occ = c.occ
{%- endmacro %}

{# unpaired events whose tick_seq differs by at most `tolerance`: nearest first, each once #}
{% macro near(on_loose, tolerance) -%}
create or replace temp table _near as
with lp as (select p.* from _fo join _p p on p.eid = _fo.pid where _fo.cid is null),
     lc as (select c.* from _fo join _c c on c.eid = _fo.cid where _fo.pid is null),
     cand as (select p.eid as pid, c.eid as cid, abs(p.tick_seq - c.tick_seq) as d
              from lp p join lc c on {{ on_loose }}
              where abs(p.tick_seq - c.tick_seq) <= {{ tolerance }}),
     best_p as (select * from cand qualify row_number() over
                (partition by pid order by d, cid) = 1)
select pid, cid from best_p qualify row_number() over (partition by cid order by d, pid) = 1
{%- endmacro %}

{% macro exact_pairs() -%}
select pid, cid from _fo
{%- endmacro %}

{% macro near_pairs() -%}
select pid, cid from _fo where pid is not null and cid is not null
union all select pid, cid from _near
union all select pid, null from _fo
    where cid is null and pid not in (select pid from _near)
union all select null, cid from _fo
    where pid is null and cid not in (select cid from _near)
{%- endmacro %}

{% macro pairs(pairs) -%}
create or replace temp table _pairs as
select j.pid, j.cid,
       coalesce(p.ticker, c.ticker) as ticker, coalesce(p.type, c.type) as type,
       coalesce(p.direction, c.direction) as direction,
       coalesce(p.tick_seq, c.tick_seq) as tick_seq,
       p.tick_seq as primary_tick_seq, c.tick_seq as candidate_tick_seq,
       p.emit_index as primary_index, c.emit_index as candidate_index,
       p.emit_pos as primary_pos, c.emit_pos as candidate_pos,
       p.emit_seq as primary_emit_seq, c.emit_seq as candidate_emit_seq,
       coalesce(p.shard, c.shard) as shard
from ({{ pairs }}) j left join _p p on p.eid = j.pid left join _c c on c.eid = j.cid
{%- endmacro %}

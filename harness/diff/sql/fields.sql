-- Field differences (harness/diff/fields.py): leaf paths of pairs whose JSON differs, with both
-- values, judged with the per-field tolerances. Walked one container level at a time; pairs
-- the walk cannot spell as json_tree does go through json_tree itself (`tree_leaves`).

{# keys (objects; indices as text for arrays) and JSON values of container `v`, as `s`k/`s`v/`s`a #}
{% macro side(v, s) -%}
case when left({{ v }}, 1) = '{' then json_keys({{ v }})
     when left({{ v }}, 1) = '[' then list_transform(range(json_array_length({{ v }})::bigint),
                                                    lambda i: i::varchar) end as {{ s }}k,
case left({{ v }}, 1) when '{' then json_extract({{ v }}, '$.*')
                      when '[' then json_extract({{ v }}, '$[*]') end as {{ s }}v,
coalesce(left({{ v }}, 1) = '[', false) as {{ s }}a
{%- endmacro %}

{% macro container(v) -%}
coalesce(left({{ v }}, 1) in ('{', '['), false)
{%- endmacro %}

{% macro aligned() -%}
coalesce(pk is not null and ck is not null and pk = ck and pa = ca, false)
{%- endmacro %}

{% macro path() -%}
case when arr then prefix || '[' || k || ']' when prefix = '' then k else prefix || '.' || k end
{%- endmacro %}

{# json_type of leaf `v`, skipped for strings, booleans and null (only numbers matter) #}
{% macro num_type(v) -%}
case when left({{ v }}, 1) in ('"', 't', 'f', 'n') then 'OTHER' else json_type({{ v }}) end
{%- endmacro %}

{# one level: the children of the containers in `level` whose JSON differs; only the differing
   entries of aligned containers are kept, the rare unaligned ones keep their lists for a join #}
{% macro level(level) -%}
create or replace temp table _x as
select pair_id, prefix, pa, ca,
       -- duplicate keys: json_tree pairs every copy with every copy; left to json_tree
       bad or len(list_distinct(pk)) <> len(pk) or len(list_distinct(ck)) <> len(ck) as dup,
       {{ aligned() }} as aligned,
       case when {{ aligned() }}
            then list_filter(list_zip(pk, pv, cv), lambda e: e[2] <> e[3]) end as d,
       case when not {{ aligned() }} then pk end as pk,
       case when not {{ aligned() }} then pv end as pv,
       case when not {{ aligned() }} then ck end as ck,
       case when not {{ aligned() }} then cv end as cv
from (select pair_id, prefix, bad, {{ side("pv", "p") }}, {{ side("cv", "c") }}
      from {{ level }})
{%- endmacro %}

{% macro duplicates() -%}
insert into _slow select pair_id from _x where dup
{%- endmacro %}

{% macro aligned_kids() -%}
create or replace temp table _kids as
select pair_id, prefix, e[1] as k, pa as arr, e[2] as pv, e[3] as cv
from (select pair_id, prefix, pa, unnest(d) as e from _x where aligned)
{%- endmacro %}

{% macro unaligned_kids() -%}
insert into _kids
with odd as (select * from _x where not aligned),
     p as (select pair_id, prefix, pa, unnest(pk) as k, unnest(pv) as v from odd),
     c as (select pair_id, prefix, ca, unnest(ck) as k, unnest(cv) as v from odd)
select coalesce(p.pair_id, c.pair_id), coalesce(p.prefix, c.prefix), coalesce(p.k, c.k),
       coalesce(p.pa, c.ca), p.v, c.v
from p full outer join c on p.pair_id = c.pair_id and p.prefix = c.prefix and p.k = c.k
               and p.pa = c.ca
where p.v is distinct from c.v
{%- endmacro %}

{# keys json_tree writes unquoted in its fullkey; any other key sends the pair to json_tree #}
{% macro odd_keys(simple_key) -%}
insert into _slow select pair_id from _kids
where not arr and not regexp_full_match(k, '{{ simple_key }}')
{%- endmacro %}

{% macro leaves() -%}
insert into _leaves
select pair_id, {{ path() }},
       case when not {{ container("pv") }} then pv end,
       case when not {{ container("cv") }} then cv end
from _kids where (pv is not null and not {{ container("pv") }})
              or (cv is not null and not {{ container("cv") }})
{%- endmacro %}

{% macro next_level() -%}
create or replace temp table _lv as
select pair_id, {{ path() }} as prefix, case when {{ container("pv") }} then pv end as pv,
       case when {{ container("cv") }} then cv end as cv
from _kids where {{ container("pv") }} or {{ container("cv") }}
{%- endmacro %}

{# the reference definition, for the pairs in `_slow`: json_tree leaves joined on the path #}
{% macro tree_leaves() -%}
insert into _leaves
with todo as (select t.* from _todo t semi join _slow s on s.pair_id = t.pair_id),
     pl as (select pair_id, fullkey as path, value
            from todo, json_tree(todo.p_s) where json_tree.type not in ('OBJECT', 'ARRAY')),
     cl as (select pair_id, fullkey as path, value
            from todo, json_tree(todo.c_s) where json_tree.type not in ('OBJECT', 'ARRAY'))
select coalesce(pl.pair_id, cl.pair_id),
       regexp_replace(coalesce(pl.path, cl.path), '^\$\.', ''), pl.value, cl.value
from pl full outer join cl on pl.pair_id = cl.pair_id and pl.path = cl.path
where pl.value is distinct from cl.value
{%- endmacro %}

{% macro first_level(walk) -%}
(select pair_id, '' as prefix, p_s as pv, c_s as cv, not coalesce({{ walk }}, true) as bad
 from _todo)
{%- endmacro %}

{% macro judged(numeric) -%}
create or replace temp table _fields as
with typed as (select pair_id, path, pv, cv, {{ num_type("pv") }} as pt,
                      {{ num_type("cv") }} as ct from _leaves),
     judged as (
       select b.*,
         case
           when b.pt in {{ numeric }} and b.ct in {{ numeric }} then
             abs(b.pv::double - b.cv::double) <= coalesce(t.abs, d.abs)
             or abs(b.pv::double - b.cv::double)
                <= coalesce(t.rel, d.rel) * greatest(abs(b.pv::double), abs(b.cv::double))
           else b.pv is not distinct from b.cv
         end as same
       from typed b left join _tol t on t.path = b.path and t.is_default = 0
       cross join (select abs, rel from _tol where is_default = 1) d)
select pair_id, list({'path': path, 'primary': pv, 'candidate': cv} order by path) as fields
from judged where not same group by pair_id
{%- endmacro %}

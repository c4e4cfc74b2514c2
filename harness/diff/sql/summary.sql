-- The run summary (harness/diff/summary.py) and its per-day breakdown (harness/diff/days.py).

{# one scan of the observations for both stacks: a FILTER per stack, not a query each; a
   memory-probed tick's times are the tracer's, not the stack's, so no latency figure counts them #}
{% macro latency(sides) -%}
select
{%- for side in sides %}
  quantile_cont({{ side }}_ns, [0.5, 0.9, 0.99]) filter (where {{ side }}_error is null and not coalesce(memory_probed, false)),
  avg({{ side }}_ns) filter (where {{ side }}_error is null and not coalesce(memory_probed, false)),
  quantile_cont({{ side }}_cpu_ns, 0.5) filter (where {{ side }}_error is null and not coalesce(memory_probed, false)),
  count(*) filter (where {{ side }}_error is null){{ "," if not loop.last }}
{%- endfor %}
from observations
{%- endmacro %}

{% macro events_by_type(side) -%}
select coalesce(type, '?'), count(*) from events_{{ side }} group by 1 order by 1
{%- endmacro %}

{% macro failure_counts(side) -%}
select count(*) filter (where {{ side }}_error is not null and not coalesce({{ side }}_timeout, false)),
       count(*) filter (where coalesce({{ side }}_timeout, false))
from observations
{%- endmacro %}

{% macro first_failure(side) -%}
select ticker, seq, strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ'), {{ side }}_error,
       coalesce({{ side }}_timeout, false)
from observations where {{ side }}_error is not null order by ts, seq limit 1
{%- endmacro %}

{% macro failure_types(side) -%}
select split_part({{ side }}_error, ':', 1) as t, count(*) from observations
where {{ side }}_error is not null group by 1 order by 2 desc, 1 limit 5
{%- endmacro %}

{% macro error_counts() -%}
select count(primary_error), count(candidate_error),
       count(*) filter (where primary_timeout), count(*) filter (where candidate_timeout)
from observations
{%- endmacro %}

{% macro day_observations() -%}
select d.date, count(*), count(o.primary_error), count(o.candidate_error),
       sum(o.primary_events), sum(o.candidate_events),
       quantile_cont(o.primary_ns, 0.5) filter (where o.primary_error is null and not coalesce(o.memory_probed, false)),
       quantile_cont(o.candidate_ns, 0.5) filter (where o.candidate_error is null and not coalesce(o.memory_probed, false))
from observations o join _days d using (shard) group by 1 order by 1
{%- endmacro %}

{% macro day_classes() -%}
select d.date, class, count(*) from diff join _days d using (shard) group by 1, 2
{%- endmacro %}

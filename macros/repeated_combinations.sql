{#- The query of the generic test unique_combination_of_columns (tests/generic), dispatched. -#}

{% macro default__repeated_combinations(model, columns) -%}
select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{%- endmacro %}

{% macro duckdb__repeated_combinations(model, columns) -%}
{#- Counting distinct 64-bit fingerprints of the key is faster than grouping the key's
    columns. Distinct fingerprints prove distinct keys; only when some fingerprint repeats (a
    repeated key, or a collision) are the columns themselves grouped to list the repeated
    combinations. -#}
with

fingerprint_check as (
    select count(*) - count(distinct {{ row_fingerprint(columns) }}) as repeated_fingerprints
    from {{ model }}
)

select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
where (select repeated_fingerprints from fingerprint_check) > 0
group by {{ columns | join(', ') }}
having count(*) > 1
{%- endmacro %}

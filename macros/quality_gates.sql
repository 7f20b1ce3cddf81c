{#- The query of a quality gate (tests/generic/quality_gate_*.sql): one row with the gate's name,
    the measured value, the requirement and a readable message when the gate does not pass,
    no row when it passes. While `dbt build` / `dbt test` runs, a failing gate's message is also
    printed in the build output (dbt itself only prints the number of failing rows). -#}
{% macro quality_gate(gate_name, measured_sql, condition, requirement, judged_when_rows_in=none) %}
{%- set message_parts = [
    "'quality gate " ~ gate_name ~ " did not pass: measured '",
    "coalesce(" ~ dbt.safe_cast(rounded("measured_value", 4), api.Column.translate_type("string")) ~ ", 'nothing')",
    "', required " ~ requirement ~ "'",
] -%}
{%- set gate_sql -%}
with

measured as (
    {{ measured_sql }}
),

checked as (
    select
        '{{ gate_name }}' as gate_name,
        measured_value,
        '{{ requirement }}' as requirement,
        {{ dbt.concat(message_parts) }} as message,
        coalesce({{ condition }}, false) as is_passed
    from measured
    {%- if judged_when_rows_in is not none %}
    -- Nothing to judge without a model (e.g. `dbt build --empty`).
    where exists (select 1 from {{ judged_when_rows_in }})
    {%- endif %}
)

select
    gate_name,
    measured_value,
    requirement,
    message
from checked
where not is_passed
{%- endset -%}
{%- if execute and flags.WHICH in ("build", "test", "retry") -%}
    {%- for row in run_query(gate_sql).rows -%}
        {%- do log(row["message"] ~ " [severity " ~ config.get("severity", "error") ~ "]", info=True) -%}
    {%- endfor -%}
{%- endif -%}
{{ gate_sql }}
{%- endmacro %}

{#- A gate threshold as a number; anything else stops compilation with a message naming it. -#}
{% macro quality_gate_threshold(value, argument) %}
    {%- set number = value | float(none) -%}
    {%- if number is none or value is boolean -%}
        {{ exceptions.raise_compiler_error(
            "quality gate argument " ~ argument ~ " must be a number, got '" ~ value ~ "'"
        ) }}
    {%- endif -%}
    {{ return(number) }}
{%- endmacro %}

{#- `expression` rounded to `digits` decimal places, whatever its numeric type. -#}
{% macro rounded(expression, digits) -%}
    {{ return(adapter.dispatch('rounded', 'customer_segments')(expression, digits)) }}
{%- endmacro %}

{% macro default__rounded(expression, digits) -%}
    round({{ expression }}, {{ digits }})
{%- endmacro %}

{% macro postgres__rounded(expression, digits) -%}
    {#- Postgres rounds to decimal places only a numeric (there is no round(double, int)). -#}
    round(cast({{ expression }} as numeric), {{ digits }})
{%- endmacro %}

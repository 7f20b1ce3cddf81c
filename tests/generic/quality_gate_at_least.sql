{% test quality_gate_at_least(model, column_name, minimum, gate_name=none, setting=none) %}
{%- set minimum_value = quality_gate_threshold(minimum, "minimum") -%}
{%- set measured -%}
    select
        case when count({{ column_name }}) = count(*) then min({{ column_name }}) end
            as measured_value
    from {{ model }}
{%- endset -%}
{{ quality_gate(
    gate_name or ("min_" ~ column_name),
    measured,
    "measured_value >= " ~ minimum_value,
    ">= " ~ minimum_value ~ (" (" ~ setting ~ ")" if setting else ""),
    judged_when_rows_in=model,
) }}
{% endtest %}

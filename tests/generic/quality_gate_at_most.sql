{% test quality_gate_at_most(model, column_name, maximum, gate_name=none, setting=none) %}
{%- set maximum_value = quality_gate_threshold(maximum, "maximum") -%}
{%- set measured -%}
    select
        case when count({{ column_name }}) = count(*) then max({{ column_name }}) end
            as measured_value
    from {{ model }}
{%- endset -%}
{{ quality_gate(
    gate_name or ("max_" ~ column_name),
    measured,
    "measured_value <= " ~ maximum_value,
    "<= " ~ maximum_value ~ (" (" ~ setting ~ ")" if setting else ""),
    judged_when_rows_in=model,
) }}
{% endtest %}

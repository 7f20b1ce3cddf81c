{% test quality_gate_smallest_segment_share(model, assignments, minimum, segment_column="segment_id", setting=none) %}
{%- set minimum_value = quality_gate_threshold(minimum, "minimum") -%}
{%- set measured -%}
    select
        cast(min(customer_count) as {{ dbt.type_float() }}) / sum(customer_count) as measured_value
    from (
        select
            {{ segment_column }},
            count(*) as customer_count
        from {{ assignments }}
        group by {{ segment_column }}
    ) as sizes
{%- endset -%}
{{ quality_gate(
    "smallest_segment_share",
    measured,
    "measured_value >= " ~ minimum_value,
    ">= " ~ minimum_value ~ (" (" ~ setting ~ ")" if setting else ""),
    judged_when_rows_in=model,
) }}
{% endtest %}

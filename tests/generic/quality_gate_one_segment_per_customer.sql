{% test quality_gate_one_segment_per_customer(model, assignments, eligible, customer_column="customer_id") %}
{%- set measured -%}
    select count(*) as measured_value
    from (
        select {{ customer_column }} as customer_id from {{ eligible }}
    ) as eligible
    full outer join (
        select
            {{ customer_column }} as customer_id,
            count(*) as segment_rows
        from {{ assignments }}
        group by {{ customer_column }}
    ) as assigned
        on eligible.customer_id = assigned.customer_id
    where
        eligible.customer_id is null
        or assigned.customer_id is null
        or assigned.segment_rows <> 1
{%- endset -%}
{{ quality_gate(
    "one_segment_per_customer",
    measured,
    "measured_value = 0",
    "0 customers without exactly one segment (or with a segment but not eligible)",
) }}
{% endtest %}

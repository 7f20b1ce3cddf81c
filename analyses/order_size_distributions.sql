{#- Basket size and order value of kept orders (positive value after netting cancellations):
    mean, spread and quantiles of each measure, one row per measure.
    percentile_cont(…) within group (order by …) is standard SQL (DuckDB, PostgreSQL,
    Snowflake, Redshift); BigQuery would need approx_quantiles. -#}
{%- set measures = [
    ('order_value', 'net_amount'),
    ('units_per_order', 'net_units'),
    ('products_per_order', 'distinct_product_count'),
    ('lines_per_order', 'line_count'),
] -%}
{%- set quantiles = eda_quantiles() -%}
with

orders as (
    select * from {{ ref('int_orders_netted') }}
),

kept_orders as (
    select * from orders
    where is_kept
),

final as (
    {%- for measure, column in measures %}
    select
        {{ loop.index }} as measure_order,
        '{{ measure }}' as measure,
        count(*) as order_count,
        avg({{ column }}) as mean_value,
        stddev_samp({{ column }}) as stddev_value,
        min({{ column }}) as min_value,
        {%- for name, q in quantiles %}
        percentile_cont({{ q }}) within group (order by {{ column }}) as {{ name }}_value,
        {%- endfor %}
        max({{ column }}) as max_value
    from kept_orders
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from final
order by measure_order

{#- Histogram of order value: kept orders (positive value after netting cancellations) in
    value bands that widen roughly tenfold every three steps, with the share of orders and of
    revenue in each band. Every band has a row, empty ones included. -#}
{%- set band_edges = [0, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] -%}
with

orders as (
    select * from {{ ref('int_orders_netted') }}
),

bands as (
    {%- for lower in band_edges %}
    select
        {{ loop.index }} as band_order,
        {{ lower }} as lower_amount,
        {% if not loop.last %}{{ band_edges[loop.index] }}{% else %}cast(null as {{ dbt.type_numeric() }}){% endif %} as upper_amount
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

banded_orders as (
    select
        case
            {%- for lower in band_edges | reverse %}
            when net_amount >= {{ lower }} then {{ band_edges | length - loop.index0 }}
            {%- endfor %}
        end as band_order,
        net_amount
    from orders
    where is_kept
),

per_band as (
    select
        bands.band_order,
        bands.lower_amount,
        bands.upper_amount,
        count(banded_orders.net_amount) as order_count,
        coalesce(sum(banded_orders.net_amount), 0) as net_amount
    from bands
    left join banded_orders
        on bands.band_order = banded_orders.band_order
    group by bands.band_order, bands.lower_amount, bands.upper_amount
),

final as (
    select
        band_order,
        lower_amount,
        upper_amount,
        order_count,
        cast(order_count as {{ dbt.type_float() }}) / sum(order_count) over () as order_share,
        cast(
            sum(order_count) over (order by band_order rows between unbounded preceding and current row)
            as {{ dbt.type_float() }}
        ) / sum(order_count) over () as cumulative_order_share,
        net_amount,
        net_amount / sum(net_amount) over () as net_amount_share
    from per_band
)

select * from final
order by band_order

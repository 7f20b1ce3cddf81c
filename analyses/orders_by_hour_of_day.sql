{#- When do customers order, by hour of the day: kept orders (positive value after netting
    cancellations) and their revenue per hour, in the shop's local time. All 24 hours have a
    row. is_evening marks the hours that count toward the evening_order_share feature. -#}
with

orders as (
    select * from {{ ref('int_orders_netted') }}
),

hours as (
    {%- for hour in range(24) %}
    select {{ hour }} as hour_of_day
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

kept_orders as (
    select
        {{ hour_of_day('ordered_at') }} as hour_of_day,
        customer_id,
        net_amount
    from orders
    where is_kept
),

per_hour as (
    select
        hour_of_day,
        count(*) as order_count,
        count(distinct customer_id) as customer_count,
        sum(net_amount) as net_amount
    from kept_orders
    group by hour_of_day
),

final as (
    select
        hours.hour_of_day,
        hours.hour_of_day >= {{ var('evening_start_hour') | int }} as is_evening,
        coalesce(per_hour.order_count, 0) as order_count,
        cast(coalesce(per_hour.order_count, 0) as {{ dbt.type_float() }})
            / sum(coalesce(per_hour.order_count, 0)) over () as order_share,
        coalesce(per_hour.customer_count, 0) as customer_count,
        coalesce(per_hour.net_amount, 0) as net_amount,
        coalesce(per_hour.net_amount, 0)
            / sum(coalesce(per_hour.net_amount, 0)) over () as net_amount_share,
        per_hour.net_amount / nullif(per_hour.order_count, 0) as avg_order_value
    from hours
    left join per_hour
        on hours.hour_of_day = per_hour.hour_of_day
)

select * from final
order by hour_of_day

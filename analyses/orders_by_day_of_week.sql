{#- When do customers order, by day of the week: kept orders (positive value after netting
    cancellations) and their revenue per weekday, in the shop's local time. All seven days have
    a row, so a day the shop never trades shows 0. -#}
{%- set day_names = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] -%}
with

orders as (
    select * from {{ ref('int_orders_netted') }}
),

days as (
    {%- for day_name in day_names %}
    select {{ loop.index0 }} as day_of_week, '{{ day_name }}' as day_name
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

kept_orders as (
    select
        {{ day_of_week('ordered_at') }} as day_of_week,
        customer_id,
        net_amount
    from orders
    where is_kept
),

per_day as (
    select
        day_of_week,
        count(*) as order_count,
        count(distinct customer_id) as customer_count,
        sum(net_amount) as net_amount
    from kept_orders
    group by day_of_week
),

final as (
    select
        days.day_of_week,
        days.day_name,
        days.day_of_week in (0, 6) as is_weekend,
        coalesce(per_day.order_count, 0) as order_count,
        cast(coalesce(per_day.order_count, 0) as {{ dbt.type_float() }})
            / sum(coalesce(per_day.order_count, 0)) over () as order_share,
        coalesce(per_day.customer_count, 0) as customer_count,
        coalesce(per_day.net_amount, 0) as net_amount,
        coalesce(per_day.net_amount, 0)
            / sum(coalesce(per_day.net_amount, 0)) over () as net_amount_share,
        per_day.net_amount / nullif(per_day.order_count, 0) as avg_order_value
    from days
    left join per_day
        on days.day_of_week = per_day.day_of_week
)

select * from final
order by day_of_week

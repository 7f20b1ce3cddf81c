{#- One row per customer with at least one kept order (positive net value) before the as-of
    date: recency, frequency, monetary and behavioural features, the input of clustering. -#}
with

bounds as (
    select * from {{ ref('int_log_bounds') }}
),

orders as (
    select * from {{ ref('int_orders_netted') }}
),

sale_lines as (
    select * from {{ ref('int_sale_lines_netted') }}
),

kept_orders as (
    select * from orders where is_kept
),

order_stats as (
    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as frequency_orders,
        sum(net_amount) as monetary_amount,
        sum(net_units) as net_units,
        count(distinct {{ dbt.date_trunc('month', 'order_date') }}) as active_months,
        avg(case when is_weekend then 1.0 else 0.0 end) as weekend_order_share,
        avg(case when is_evening then 1.0 else 0.0 end) as evening_order_share,
        -- gift season: orders placed in October, November or December of any year (least():
        -- two float sums over the same orders may differ in the last bit)
        least(
            1.0,
            sum(case when extract(month from order_date) >= 10 then net_amount else 0 end)
                / sum(net_amount)
        ) as q4_revenue_share
    from kept_orders
    group by customer_id
),

line_stats as (
    select
        customer_id,
        count(distinct case when net_units > 0 then stock_code end) as distinct_products,
        sum(purchased_units) as purchased_units,
        sum(cancelled_units) as cancelled_units
    from sale_lines
    group by customer_id
),

-- primary country: where the customer spent most; ties go to the latest order, then the name
country_ranking as (
    select
        customer_id,
        country,
        row_number() over (
            partition by customer_id
            order by sum(net_amount) desc, max(ordered_at) desc, country
        ) as country_rank,
        count(*) over (partition by customer_id) as country_count
    from kept_orders
    group by customer_id, country
),

-- the as-of date beside each customer's order statistics
customer_orders as (
    select
        order_stats.*,
        bounds.as_of_date
    from order_stats
    cross join bounds
),

final as (
    select
        order_stats.customer_id,
        order_stats.as_of_date,
        -- switched off (null) when the log has no country column
        case when {{ input_is_available('has_country') }} then country_ranking.country end
            as primary_country,
        case when {{ input_is_available('has_country') }} then country_ranking.country_count end
            as country_count,
        order_stats.first_order_at,
        order_stats.last_order_at,
        {{ dbt.datediff('order_stats.last_order_at', 'order_stats.as_of_date', 'day') }} as recency_days,
        order_stats.frequency_orders,
        order_stats.monetary_amount,
        {{ dbt.datediff('order_stats.first_order_at', 'order_stats.as_of_date', 'day') }} as tenure_days,
        order_stats.monetary_amount / order_stats.frequency_orders as avg_order_value,
        cast(order_stats.net_units as {{ dbt.type_float() }}) / order_stats.frequency_orders
            as avg_items_per_order,
        order_stats.monetary_amount / order_stats.net_units as avg_unit_price,
        -- switched off (null) when the log has no stock code column
        case when {{ input_is_available('has_stock_code') }} then line_stats.distinct_products end
            as distinct_products,
        cast(line_stats.cancelled_units as {{ dbt.type_float() }}) / line_stats.purchased_units
            as cancellation_rate,
        case
            when order_stats.frequency_orders > 1
                then cast(
                    {{ dbt.datediff('order_stats.first_order_at', 'order_stats.last_order_at', 'day') }}
                    as {{ dbt.type_float() }}
                ) / (order_stats.frequency_orders - 1)
        end as mean_days_between_orders,
        order_stats.weekend_order_share,
        order_stats.evening_order_share,
        order_stats.active_months,
        order_stats.q4_revenue_share
    from customer_orders as order_stats
    inner join line_stats
        on order_stats.customer_id = line_stats.customer_id
    inner join country_ranking
        on order_stats.customer_id = country_ranking.customer_id
        and country_ranking.country_rank = 1
)

select * from final

{#- Incremental by customer, like the netted tables: a build recomputes the statistics of the
    customers whose lines changed (base_shop__customer_line_states; the pre-hook deletes their old
    rows). Customers without a kept order have no row and are looked at again on every build.
    Recency and tenure move with the as-of date, so fct_customer_features computes them from
    these statistics. -#}
{{ config(
    materialized=customer_table_materialization(),
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ delete_rows_of_changed_customers() }}",
) }}

with

-- every customer, or on an incremental build the new and changed ones
customers as (
    {{ customers_to_compute() }}
),

orders as (
    select * from {{ ref('int_orders_netted') }} as orders
    {%- if is_incremental() %}
    where exists (select 1 from customers where customers.customer_id = orders.customer_id)
    {%- endif %}
),

sale_lines as (
    select * from {{ ref('int_sale_lines_netted') }} as lines
    {%- if is_incremental() %}
    where exists (select 1 from customers where customers.customer_id = lines.customer_id)
    {%- endif %}
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
        -- shares averaged in floating point: an average of 1.0/0.0 literals is a DECIMAL on
        -- Postgres and Spark (rounded to a few digits on Spark), a DOUBLE on DuckDB
        avg(cast(case when is_weekend then 1 else 0 end as {{ dbt.type_float() }}))
            as weekend_order_share,
        avg(cast(case when is_evening then 1 else 0 end as {{ dbt.type_float() }}))
            as evening_order_share,
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

final as (
    select
        order_stats.customer_id,
        country_ranking.country as primary_country,
        country_ranking.country_count,
        order_stats.first_order_at,
        order_stats.last_order_at,
        order_stats.frequency_orders,
        order_stats.monetary_amount,
        order_stats.net_units,
        order_stats.active_months,
        order_stats.weekend_order_share,
        order_stats.evening_order_share,
        order_stats.q4_revenue_share,
        line_stats.distinct_products,
        line_stats.purchased_units,
        line_stats.cancelled_units,
        customers.line_state
    from order_stats
    inner join line_stats
        on order_stats.customer_id = line_stats.customer_id
    inner join country_ranking
        on order_stats.customer_id = country_ranking.customer_id
        and country_ranking.country_rank = 1
    inner join customers
        on order_stats.customer_id = customers.customer_id
)

select * from final

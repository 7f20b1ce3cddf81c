{#- A table rather than a view: the feature mart, the reporting models and the tests read it.
    Incremental by customer, like int_sale_lines_netted: a build recomputes the orders of the
    customers whose lines changed (base_shop__customer_line_states; the pre-hook deletes their old
    rows) from their freshly netted lines. -#}
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

sale_lines as (
    select * from {{ ref('int_sale_lines_netted') }} as lines
    {%- if is_incremental() %}
    where exists (select 1 from customers where customers.customer_id = lines.customer_id)
    {%- endif %}
),

orders as (
    select
        invoice_id as order_id,
        customer_id,
        min(invoiced_at) as ordered_at,
        min(invoice_date) as order_date,
        min(country) as country,
        count(*) as line_count,
        count(distinct stock_code) as distinct_product_count,
        sum(purchased_units) as purchased_units,
        sum(cancelled_units) as cancelled_units,
        sum(net_units) as net_units,
        sum(purchased_units * unit_price) as gross_amount,
        sum(net_amount) as net_amount,
        -- the state the lines were netted from (one per customer)
        min(line_state) as line_state
    from sale_lines
    group by invoice_id, customer_id
),

final as (
    select
        orders.*,
        {{ day_of_week('orders.ordered_at') }} in (0, 6) as is_weekend,
        {{ hour_of_day('orders.ordered_at') }} >= {{ var('evening_start_hour') | int }} as is_evening,
        orders.net_amount > 0 as is_kept
    from orders
)

select * from final

{#- One row per customer order (invoice) before the as-of date, valued after netting
    cancellations. Orders whose every unit was cancelled keep a row with net_amount = 0;
    features count only orders with a positive net amount. A table: the feature mart, the
    reporting models and the tests read it. -#}
{{ config(materialized='table') }}

with

sale_lines as (
    select * from {{ ref('int_sale_lines_netted') }}
),

orders as (
    select
        invoice_id as order_id,
        customer_id,
        min(invoiced_at) as ordered_at,
        min(invoice_date) as order_date,
        min(country) as country,
        min(as_of_date) as as_of_date,
        count(*) as line_count,
        count(distinct stock_code) as distinct_product_count,
        sum(purchased_units) as purchased_units,
        sum(cancelled_units) as cancelled_units,
        sum(net_units) as net_units,
        sum(purchased_units * unit_price) as gross_amount,
        sum(net_amount) as net_amount
    from sale_lines
    group by invoice_id, customer_id
),

final as (
    select
        orders.*,
        {{ day_of_week('ordered_at') }} in (0, 6) as is_weekend,
        {{ hour_of_day('ordered_at') }} >= {{ var('evening_start_hour') | int }} as is_evening,
        net_amount > 0 as is_kept
    from orders
)

select * from final

-- Net revenue is the same whether summed over netted lines, kept orders or customers.
with

lines as (
    select coalesce(sum(net_amount), 0) as revenue from {{ ref('int_sale_lines_netted') }}
),

orders as (
    select coalesce(sum(net_amount), 0) as revenue from {{ ref('int_orders_netted') }}
),

customers as (
    select coalesce(sum(monetary_amount), 0) as revenue from {{ ref('fct_customer_features') }}
)

select
    lines.revenue as line_revenue,
    orders.revenue as order_revenue,
    customers.revenue as customer_revenue
from lines
cross join orders
cross join customers
where
    abs(lines.revenue - orders.revenue) > 0.01
    or abs(orders.revenue - customers.revenue) > 0.01

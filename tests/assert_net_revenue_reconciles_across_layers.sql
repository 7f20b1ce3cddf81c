-- Net revenue is the same whether summed over netted lines, kept orders or customers.
-- Summed in fixed point: a sum of tens of millions of doubles drifts by more than a cent with
-- the order of addition (which parallel aggregation does not fix), a sum of decimals does not.
with

lines as (
    select coalesce(sum(cast(net_amount as {{ dbt.type_numeric() }})), 0) as revenue
    from {{ ref('int_sale_lines_netted') }}
),

orders as (
    select coalesce(sum(cast(net_amount as {{ dbt.type_numeric() }})), 0) as revenue
    from {{ ref('int_orders_netted') }}
),

customers as (
    select coalesce(sum(cast(monetary_amount as {{ dbt.type_numeric() }})), 0) as revenue
    from {{ ref('fct_customer_features') }}
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

-- A customer whose every order was reversed by cancellations (such as a mistaken huge order
-- and its reversal) has no net purchase, so must not reach the feature mart or any segment.
with

orders as (
    select customer_id, max(net_amount) as best_net_amount
    from {{ ref('int_orders_netted') }}
    group by customer_id
),

features as (
    select customer_id from {{ ref('fct_customer_features') }}
)

select orders.customer_id, orders.best_net_amount
from orders
inner join features
    on orders.customer_id = features.customer_id
where orders.best_net_amount <= 0

{#- Country mix of known customers: customers by primary country, kept orders and net revenue by
    the country written on the order, each with its share of the whole. -#}
with

orders as (
    select * from {{ ref('int_orders_netted') }}
),

customer_features as (
    select * from {{ ref('fct_customer_features') }}
),

country_orders as (
    select
        coalesce(country, '(not given)') as country,
        count(*) as kept_order_count,
        sum(net_amount) as net_amount
    from orders
    where is_kept
    group by coalesce(country, '(not given)')
),

country_customers as (
    select
        coalesce(primary_country, '(not given)') as country,
        count(*) as customer_count
    from customer_features
    group by coalesce(primary_country, '(not given)')
),

countries as (
    select country from country_orders
    union
    select country from country_customers
),

per_country as (
    select
        countries.country,
        coalesce(country_customers.customer_count, 0) as customer_count,
        coalesce(country_orders.kept_order_count, 0) as kept_order_count,
        coalesce(country_orders.net_amount, 0) as net_amount
    from countries
    left join country_customers
        on countries.country = country_customers.country
    left join country_orders
        on countries.country = country_orders.country
),

final as (
    select
        country,
        customer_count,
        cast(customer_count as {{ dbt.type_float() }})
            / sum(customer_count) over () as customer_share,
        kept_order_count,
        cast(kept_order_count as {{ dbt.type_float() }})
            / sum(kept_order_count) over () as order_share,
        net_amount,
        net_amount / sum(net_amount) over () as net_amount_share,
        net_amount / nullif(kept_order_count, 0) as avg_order_value,
        net_amount / nullif(customer_count, 0) as net_amount_per_customer
    from per_country
)

select * from final
order by net_amount desc, country

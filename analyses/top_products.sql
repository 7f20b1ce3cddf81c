{#- Top products by net revenue after netting cancellations (known customers' product lines),
    with units, reach and how concentrated revenue is (cumulative share). The description shown
    is the one most often written for the stock code. -#}
{%- set top_n = 25 -%}
with

sale_lines as (
    select * from {{ ref('int_sale_lines_netted') }}
),

lines as (
    select * from {{ ref('stg_shop__transactions') }}
),

descriptions as (
    select
        stock_code,
        description,
        row_number() over (
            partition by stock_code
            order by count(*) desc, description
        ) as description_rank
    from lines
    where description is not null
    group by stock_code, description
),

products as (
    select
        stock_code,
        count(distinct customer_id) as customer_count,
        count(distinct invoice_id) as order_count,
        sum(purchased_units) as purchased_units,
        sum(net_units) as net_units,
        sum(net_amount) as net_amount,
        cast(sum(cancelled_units) as {{ dbt.type_float() }})
            / sum(purchased_units) as unit_cancellation_rate
    from sale_lines
    group by stock_code
),

ranked as (
    select
        products.*,
        row_number() over (order by net_amount desc, stock_code) as revenue_rank,
        row_number() over (order by net_units desc, stock_code) as units_rank,
        net_amount / sum(net_amount) over () as net_amount_share,
        sum(net_amount) over (
            order by net_amount desc, stock_code
            rows between unbounded preceding and current row
        ) / sum(net_amount) over () as cumulative_net_amount_share,
        count(*) over () as product_count
    from products
),

final as (
    select
        ranked.revenue_rank,
        ranked.stock_code,
        descriptions.description,
        ranked.net_amount,
        ranked.net_amount_share,
        ranked.cumulative_net_amount_share,
        ranked.net_units,
        ranked.units_rank,
        ranked.customer_count,
        ranked.order_count,
        ranked.unit_cancellation_rate,
        ranked.product_count
    from ranked
    left join descriptions
        on ranked.stock_code = descriptions.stock_code
        and descriptions.description_rank = 1
    where ranked.revenue_rank <= {{ top_n }}
)

select * from final
order by revenue_rank

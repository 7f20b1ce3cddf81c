{#- New vs returning customers by month, from the BI model rpt_monthly_revenue: how many active
    customers ordered for the first time, and how much of the month's revenue they brought.
    The first months of a log overstate new customers (their earlier orders are not in it). -#}
with

monthly_revenue as (
    select * from {{ ref('rpt_monthly_revenue') }}
),

final as (
    select
        month_start_date,
        is_partial_month,
        active_customer_count,
        new_customer_count,
        returning_customer_count,
        cast(new_customer_count as {{ dbt.type_float() }})
            / nullif(active_customer_count, 0) as new_customer_share,
        cast(returning_customer_count as {{ dbt.type_float() }})
            / nullif(active_customer_count, 0) as returning_customer_share,
        new_customer_net_amount,
        returning_customer_net_amount,
        new_customer_net_amount / nullif(customer_net_amount, 0) as new_customer_net_amount_share,
        returning_customer_net_amount
            / nullif(customer_net_amount, 0) as returning_customer_net_amount_share
    from monthly_revenue
)

select * from final
order by month_start_date

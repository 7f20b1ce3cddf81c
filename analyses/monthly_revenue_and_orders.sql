{#- Revenue and orders by month: the BI model rpt_monthly_revenue, with each month's share of
    the total and its growth on a per-day basis, so the partial last month compares fairly. -#}
with

monthly_revenue as (
    select * from {{ ref('rpt_monthly_revenue') }}
),

totals as (
    select sum(customer_net_amount) as all_customer_net_amount
    from monthly_revenue
),

final as (
    select
        monthly_revenue.month_start_date,
        monthly_revenue.is_partial_month,
        monthly_revenue.covered_day_count,
        monthly_revenue.gross_sales_amount,
        monthly_revenue.cancelled_amount,
        monthly_revenue.net_sales_amount,
        monthly_revenue.customer_net_amount,
        monthly_revenue.customer_net_amount
            / nullif(totals.all_customer_net_amount, 0) as customer_net_amount_share,
        monthly_revenue.customer_net_amount_per_day,
        monthly_revenue.customer_net_amount_per_day
            / nullif(
                lag(monthly_revenue.customer_net_amount_per_day) over (
                    order by monthly_revenue.month_start_date
                ),
                0
            )
            - 1 as per_day_growth,
        monthly_revenue.invoice_count,
        monthly_revenue.kept_order_count,
        monthly_revenue.avg_order_value,
        monthly_revenue.active_customer_count
    from monthly_revenue
    cross join totals
)

select * from final
order by month_start_date

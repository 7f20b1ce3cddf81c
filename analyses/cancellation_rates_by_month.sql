{#- Cancellation and return rates over time, from the BI model rpt_monthly_revenue. The log does
    not tell a cancellation from a return: both are `C` invoices. Two clocks:
    - booked: value of cancellations invoiced in the month against the month's gross sales;
    - by order month: the share of the month's orders (units, orders) that later cancellations
      reversed. Recent months had less time to be cancelled, so their rates are understated. -#}
with

monthly_revenue as (
    select * from {{ ref('rpt_monthly_revenue') }}
),

final as (
    select
        month_start_date,
        is_partial_month,
        cancellation_invoice_count,
        cancelled_amount,
        cancelled_amount / nullif(gross_sales_amount, 0) as booked_cancellation_rate,
        order_count,
        cast(cancelled_order_count as {{ dbt.type_float() }})
            / nullif(order_count, 0) as order_cancellation_rate,
        cast(order_count - kept_order_count as {{ dbt.type_float() }})
            / nullif(order_count, 0) as fully_cancelled_order_rate,
        cast(cancelled_units as {{ dbt.type_float() }})
            / nullif(purchased_units, 0) as unit_cancellation_rate,
        1 - customer_net_amount / nullif(customer_gross_amount, 0) as value_cancellation_rate
    from monthly_revenue
)

select * from final
order by month_start_date

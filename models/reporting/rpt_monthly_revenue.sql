{#- New and returning customers come from the cohort table (its month-0 rows are the new
    customers), so both models always agree. -#}
with

lines as (
    select * from {{ ref('stg_shop__transactions') }}
),

orders as (
    select * from {{ ref('int_orders_netted') }}
),

log_months as (
    select * from {{ ref('rpt_log_months') }}
),

cohort_retention as (
    select * from {{ ref('rpt_cohort_retention') }}
),

-- product lines inside the covered days (so nothing on or after the as-of date)
product_lines as (
    select
        log_months.month_start_date,
        lines.invoice_id,
        lines.line_type,
        lines.line_amount,
        lines.has_customer,
        lines.line_type = 'sale' and lines.quantity > 0 and lines.unit_price > 0 as is_sale
    from lines
    -- the month equality lets the database hash-join; a range join alone over every line of the
    -- log took most of the model's time
    inner join log_months
        on cast({{ dbt.date_trunc('month', 'lines.invoice_date') }} as date)
            = log_months.month_start_date
        and lines.invoice_date between log_months.covered_from_date and log_months.covered_to_date
    where
        not lines.is_duplicate
        and not lines.is_non_product
),

booked as (
    select
        month_start_date,
        count(distinct case when is_sale then invoice_id end) as invoice_count,
        sum(case when is_sale then line_amount else 0 end) as gross_sales_amount,
        sum(case when is_sale and not has_customer then line_amount else 0 end) as guest_sales_amount,
        count(distinct case when line_type = 'cancellation' then invoice_id end)
            as cancellation_invoice_count,
        sum(case when line_type = 'cancellation' then -line_amount else 0 end) as cancelled_amount
    from product_lines
    group by month_start_date
),

customer_orders as (
    select
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as month_start_date,
        count(*) as order_count,
        count(case when is_kept then order_id end) as kept_order_count,
        count(case when cancelled_units > 0 then order_id end) as cancelled_order_count,
        cast(sum(purchased_units) as {{ dbt.type_bigint() }}) as purchased_units,
        cast(sum(cancelled_units) as {{ dbt.type_bigint() }}) as cancelled_units,
        sum(gross_amount) as customer_gross_amount,
        sum(net_amount) as customer_net_amount
    from orders
    group by cast({{ dbt.date_trunc('month', 'order_date') }} as date)
),

customers as (
    select
        activity_month_date as month_start_date,
        cast(sum(active_customer_count) as {{ dbt.type_bigint() }}) as active_customer_count,
        cast(
            sum(case when months_since_first_order = 0 then active_customer_count else 0 end)
            as {{ dbt.type_bigint() }}
        ) as new_customer_count,
        sum(case when months_since_first_order = 0 then net_amount else 0 end)
            as new_customer_net_amount,
        sum(case when months_since_first_order > 0 then net_amount else 0 end)
            as returning_customer_net_amount
    from cohort_retention
    group by activity_month_date
),

final as (
    select
        log_months.month_start_date,
        log_months.is_partial_month,
        log_months.covered_day_count,
        coalesce(booked.invoice_count, 0) as invoice_count,
        coalesce(booked.gross_sales_amount, 0) as gross_sales_amount,
        coalesce(booked.guest_sales_amount, 0) as guest_sales_amount,
        coalesce(booked.cancellation_invoice_count, 0) as cancellation_invoice_count,
        coalesce(booked.cancelled_amount, 0) as cancelled_amount,
        coalesce(booked.gross_sales_amount, 0) - coalesce(booked.cancelled_amount, 0)
            as net_sales_amount,
        coalesce(customer_orders.order_count, 0) as order_count,
        coalesce(customer_orders.kept_order_count, 0) as kept_order_count,
        coalesce(customer_orders.cancelled_order_count, 0) as cancelled_order_count,
        coalesce(customer_orders.purchased_units, 0) as purchased_units,
        coalesce(customer_orders.cancelled_units, 0) as cancelled_units,
        coalesce(customer_orders.customer_gross_amount, 0) as customer_gross_amount,
        coalesce(customer_orders.customer_net_amount, 0) as customer_net_amount,
        coalesce(customer_orders.customer_net_amount, 0) / log_months.covered_day_count
            as customer_net_amount_per_day,
        case
            when customer_orders.kept_order_count > 0
                then customer_orders.customer_net_amount / customer_orders.kept_order_count
        end as avg_order_value,
        coalesce(customers.active_customer_count, 0) as active_customer_count,
        coalesce(customers.new_customer_count, 0) as new_customer_count,
        coalesce(customers.active_customer_count, 0) - coalesce(customers.new_customer_count, 0)
            as returning_customer_count,
        coalesce(customers.new_customer_net_amount, 0) as new_customer_net_amount,
        coalesce(customers.returning_customer_net_amount, 0) as returning_customer_net_amount
    from log_months
    left join booked
        on log_months.month_start_date = booked.month_start_date
    left join customer_orders
        on log_months.month_start_date = customer_orders.month_start_date
    left join customers
        on log_months.month_start_date = customers.month_start_date
)

select * from final

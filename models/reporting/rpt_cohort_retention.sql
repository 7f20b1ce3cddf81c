with

orders as (
    select * from {{ ref('int_orders_netted') }}
),

log_months as (
    select * from {{ ref('rpt_log_months') }}
),

kept_orders as (
    select
        customer_id,
        net_amount,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as activity_month_date
    from orders
    where is_kept
),

customer_months as (
    select
        customer_id,
        activity_month_date,
        count(*) as kept_order_count,
        sum(net_amount) as net_amount
    from kept_orders
    group by customer_id, activity_month_date
),

customer_cohorts as (
    select
        customer_id,
        min(activity_month_date) as cohort_month_date
    from customer_months
    group by customer_id
),

cohort_sizes as (
    select
        cohort_month_date,
        count(*) as cohort_customer_count
    from customer_cohorts
    group by cohort_month_date
),

cohort_activity as (
    select
        customer_cohorts.cohort_month_date,
        customer_months.activity_month_date,
        count(*) as active_customer_count,
        cast(sum(customer_months.kept_order_count) as {{ dbt.type_bigint() }}) as kept_order_count,
        sum(customer_months.net_amount) as net_amount
    from customer_months
    inner join customer_cohorts
        on customer_months.customer_id = customer_cohorts.customer_id
    group by customer_cohorts.cohort_month_date, customer_months.activity_month_date
),

-- every month of the log from the cohort's own month on
cohort_grid as (
    select
        cohort_sizes.cohort_month_date,
        cohort_sizes.cohort_customer_count,
        log_months.month_start_date as activity_month_date,
        log_months.is_partial_month
    from cohort_sizes
    inner join log_months
        on log_months.month_start_date >= cohort_sizes.cohort_month_date
),

final as (
    select
        cohort_grid.cohort_month_date,
        cohort_grid.activity_month_date,
        {{ dbt.datediff('cohort_grid.cohort_month_date', 'cohort_grid.activity_month_date', 'month') }}
            as months_since_first_order,
        cohort_grid.cohort_customer_count,
        coalesce(cohort_activity.active_customer_count, 0) as active_customer_count,
        cast(coalesce(cohort_activity.active_customer_count, 0) as {{ dbt.type_float() }})
            / cohort_grid.cohort_customer_count as retention_rate,
        coalesce(cohort_activity.kept_order_count, 0) as kept_order_count,
        coalesce(cohort_activity.net_amount, 0) as net_amount,
        sum(coalesce(cohort_activity.net_amount, 0)) over (
            partition by cohort_grid.cohort_month_date
            order by cohort_grid.activity_month_date
            rows between unbounded preceding and current row
        ) / cohort_grid.cohort_customer_count as cumulative_net_amount_per_customer,
        cohort_grid.is_partial_month
    from cohort_grid
    left join cohort_activity
        on cohort_grid.cohort_month_date = cohort_activity.cohort_month_date
        and cohort_grid.activity_month_date = cohort_activity.activity_month_date
)

select * from final

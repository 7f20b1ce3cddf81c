{#- One row per segment of the kept model: size, shares and the mean of every feature in its
    original unit. Segment ids follow the kept model (1 = the highest median net revenue). -#}
-- depends_on: {{ ref('ml_segment_evaluation') }} (its quality gates must pass first)
with

assignments as (
    select * from {{ ref('ml_customer_assignments') }}
),

features as (
    select * from {{ ref('fct_customer_features') }}
),

customers as (
    select
        assignments.segment_id,
        features.*
    from assignments
    inner join features
        on assignments.customer_id = features.customer_id
),

totals as (
    select
        count(*) as all_customers,
        sum(monetary_amount) as all_revenue
    from customers
),

per_segment as (
    select
        segment_id,
        count(*) as customer_count,
        sum(monetary_amount) as revenue_amount,
        avg(recency_days) as mean_recency_days,
        avg(frequency_orders) as mean_frequency_orders,
        avg(monetary_amount) as mean_monetary_amount,
        avg(tenure_days) as mean_tenure_days,
        avg(avg_order_value) as mean_avg_order_value,
        avg(avg_items_per_order) as mean_avg_items_per_order,
        avg(avg_unit_price) as mean_avg_unit_price,
        avg(distinct_products) as mean_distinct_products,
        avg(cancellation_rate) as mean_cancellation_rate,
        avg(mean_days_between_orders) as mean_days_between_orders,
        avg(weekend_order_share) as mean_weekend_order_share,
        avg(evening_order_share) as mean_evening_order_share,
        avg(active_months) as mean_active_months
    from customers
    group by segment_id
),

final as (
    select
        per_segment.segment_id,
        {{ dbt.concat(["'Segment '", dbt.safe_cast('per_segment.segment_id', api.Column.translate_type('string'))]) }}
            as segment_name,
        per_segment.customer_count,
        cast(per_segment.customer_count as {{ dbt.type_float() }}) / totals.all_customers
            as customer_share,
        per_segment.revenue_amount,
        per_segment.revenue_amount / totals.all_revenue as revenue_share,
        per_segment.mean_recency_days,
        per_segment.mean_frequency_orders,
        per_segment.mean_monetary_amount,
        per_segment.mean_tenure_days,
        per_segment.mean_avg_order_value,
        per_segment.mean_avg_items_per_order,
        per_segment.mean_avg_unit_price,
        per_segment.mean_distinct_products,
        per_segment.mean_cancellation_rate,
        per_segment.mean_days_between_orders,
        per_segment.mean_weekend_order_share,
        per_segment.mean_evening_order_share,
        per_segment.mean_active_months
    from per_segment
    cross join totals
)

select * from final

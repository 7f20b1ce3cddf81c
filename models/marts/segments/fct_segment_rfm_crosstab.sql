with

customer_segments as (
    select * from {{ ref('fct_customer_segments') }}
),

features as (
    select * from {{ ref('fct_customer_features') }}
),

segments as (
    select * from {{ ref('dim_segments') }}
),

grid as (
    select * from {{ ref('rfm_segment_grid') }}
),

rfm_segments as (
    select distinct rfm_segment_name from grid
),

customers as (
    select
        customer_segments.segment_id,
        customer_segments.rfm_segment_name,
        features.monetary_amount
    from customer_segments
    inner join features
        on customer_segments.customer_id = features.customer_id
),

cells as (
    select
        segment_id,
        rfm_segment_name,
        count(*) as customer_count,
        sum(monetary_amount) as revenue_amount
    from customers
    group by segment_id, rfm_segment_name
),

rfm_totals as (
    select
        rfm_segment_name,
        count(*) as customer_count
    from customers
    group by rfm_segment_name
),

totals as (
    select
        count(*) as customer_count,
        sum(monetary_amount) as revenue_amount
    from customers
),

final as (
    select
        cast(segments.segment_id as {{ dbt.type_bigint() }}) as segment_id,
        cast(segments.segment_name as {{ dbt.type_string() }}) as segment_name,
        cast(rfm_segments.rfm_segment_name as {{ dbt.type_string() }}) as rfm_segment_name,
        cast(coalesce(cells.customer_count, 0) as {{ dbt.type_bigint() }}) as customer_count,
        cast(coalesce(cells.revenue_amount, 0) as {{ dbt.type_float() }}) as revenue_amount,
        cast(coalesce(cells.customer_count, 0) as {{ dbt.type_float() }})
            / segments.customer_count as segment_customer_share,
        cast(coalesce(cells.customer_count, 0) as {{ dbt.type_float() }})
            / nullif(rfm_totals.customer_count, 0) as rfm_customer_share,
        cast(coalesce(cells.customer_count, 0) as {{ dbt.type_float() }})
            / totals.customer_count as customer_share,
        cast(coalesce(cells.revenue_amount, 0) / totals.revenue_amount as {{ dbt.type_float() }})
            as revenue_share
    from segments
    cross join rfm_segments
    cross join totals
    left join cells
        on segments.segment_id = cells.segment_id
        and rfm_segments.rfm_segment_name = cells.rfm_segment_name
    left join rfm_totals
        on rfm_segments.rfm_segment_name = rfm_totals.rfm_segment_name
)

select * from final

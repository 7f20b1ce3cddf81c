-- depends_on: {{ ref('ml_segment_evaluation') }} (its quality gates must pass first)
with

assignments as (
    select * from {{ ref('ml_customer_assignments') }}
),

segments as (
    select * from {{ ref('dim_segments') }}
),

features as (
    select * from {{ ref('fct_customer_features') }}
),

rfm as (
    select * from {{ ref('fct_customer_rfm') }}
),

final as (
    select
        cast(features.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(assignments.segment_id as {{ dbt.type_bigint() }}) as segment_id,
        cast(segments.segment_name as {{ dbt.type_string() }}) as segment_name,
        cast(rfm.rfm_segment_name as {{ dbt.type_string() }}) as rfm_segment_name,
        cast(features.as_of_date as date) as as_of_date
    from features
    inner join assignments
        on features.customer_id = assignments.customer_id
    inner join segments
        on assignments.segment_id = segments.segment_id
    left join rfm
        on features.customer_id = rfm.customer_id
)

select * from final

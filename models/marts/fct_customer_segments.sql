{#- One row per customer in fct_customer_features: the segment the kept model assigns. -#}
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

final as (
    select
        features.customer_id,
        assignments.segment_id,
        segments.segment_name,
        features.as_of_date
    from features
    inner join assignments
        on features.customer_id = assignments.customer_id
    inner join segments
        on assignments.segment_id = segments.segment_id
)

select * from final

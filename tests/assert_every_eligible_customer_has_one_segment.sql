-- Every customer in the feature mart has exactly one segment, and no one else has any.
with

features as (
    select customer_id from {{ ref('fct_customer_features') }}
),

segments as (
    select customer_id, count(*) as segment_rows
    from {{ ref('fct_customer_segments') }}
    group by customer_id
)

select
    coalesce(features.customer_id, segments.customer_id) as customer_id,
    coalesce(segments.segment_rows, 0) as segment_rows,
    features.customer_id is not null as is_eligible
from features
full outer join segments
    on features.customer_id = segments.customer_id
where features.customer_id is null or segments.segment_rows is null or segments.segment_rows <> 1

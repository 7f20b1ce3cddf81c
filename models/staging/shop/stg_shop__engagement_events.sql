with

source as (
    select * from {{ source('shop', 'engagement_events') }}
),

final as (
    select
        trim(customer_id) as customer_id,
        occurred_at,
        cast(occurred_at as date) as occurred_date,
        trim(event_type) as event_type,
        lower(trim(event_kind)) as event_kind,
        source_file,
        source_row
    from source
)

select * from final

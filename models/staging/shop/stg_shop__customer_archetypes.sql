with

source as (
    select * from {{ source('shop', 'customer_archetypes') }}
),

final as (
    select
        trim(customer_id) as customer_id,
        trim(archetype) as archetype
    from source
)

select * from final

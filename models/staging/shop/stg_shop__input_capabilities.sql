with

source as (
    select * from {{ source('shop', 'input_capabilities') }}
),

final as (
    select
        capability,
        is_available,
        note
    from source
)

select * from final

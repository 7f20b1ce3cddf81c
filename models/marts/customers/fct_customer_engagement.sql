{#- The engagement features as of the features' as-of date; computed in int_customer_engagement. -#}
with

engagement as (
    select * from {{ ref('int_customer_engagement') }}
),

final as (
    select * from engagement
)

select * from final

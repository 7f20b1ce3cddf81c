{{ config(materialized='table') }}

with

search as (
    select * from {{ ref('base_shop__duplicate_search') }}
),

final as (
    select
        transaction_line_id,
        source_file,
        source_row,
        occurrence_number
    from search
    where source_file is not null
)

select * from final

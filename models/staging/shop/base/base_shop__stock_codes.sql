{#- A table, so the staging view matches codes by a plain join instead of testing every line
    against every pattern. -#}
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('shop', 'transactions') }}
),

non_product_codes as (
    select * from {{ ref('non_product_stock_codes') }}
),

stock_codes as (
    select distinct upper(trim(stock_code)) as stock_code
    from source
    where stock_code is not null
),

final as (
    select
        stock_codes.stock_code,
        (
            select min(codes.category)
            from non_product_codes as codes
            where
                (codes.match_type = 'exact' and stock_codes.stock_code = codes.code_pattern)
                or (
                    codes.match_type = 'prefix'
                    and {{ dbt.position('codes.code_pattern', 'stock_codes.stock_code') }} = 1
                )
        ) as non_product_category
    from stock_codes
)

select * from final

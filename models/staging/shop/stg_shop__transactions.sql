{#- One row per loaded line: trimmed, typed, classified and flagged. Nothing is dropped here;
    the flags say what later layers leave out and why. -#}
with

source as (
    select * from {{ source('shop', 'transactions') }}
),

non_product_codes as (
    select * from {{ ref('non_product_stock_codes') }}
),

trimmed as (
    select
        {{ dbt.concat(['source_file', "'#'", dbt.safe_cast('source_row', api.Column.translate_type('string'))]) }}
            as transaction_line_id,
        upper(trim(invoice_id)) as invoice_id,
        upper(trim(stock_code)) as stock_code,
        nullif(trim(description), '') as description,
        quantity,
        unit_price,
        invoiced_at,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(country), '') as country,
        source_file,
        source_row
    from source
),

classified as (
    select
        trimmed.*,
        cast(invoiced_at as date) as invoice_date,
        quantity * unit_price as line_amount,
        case
            when invoice_id like 'C%' then 'cancellation'
            when invoice_id like 'A%' then 'bad_debt_adjustment'
            when quantity < 0 then 'stock_adjustment'
            else 'sale'
        end as line_type,
        (
            select min(codes.category)
            from non_product_codes as codes
            where
                (codes.match_type = 'exact' and trimmed.stock_code = codes.code_pattern)
                or (
                    codes.match_type = 'prefix'
                    and {{ dbt.position('codes.code_pattern', 'trimmed.stock_code') }} = 1
                )
        ) as non_product_category,
        row_number() over (
            partition by
                invoice_id, stock_code, description, quantity, unit_price,
                invoiced_at, customer_id, country
            order by source_file, source_row
        ) as occurrence_number
    from trimmed
),

final as (
    select
        transaction_line_id,
        invoice_id,
        line_type,
        stock_code,
        description,
        quantity,
        unit_price,
        line_amount,
        invoiced_at,
        invoice_date,
        customer_id,
        country,
        non_product_category,
        line_type = 'cancellation' as is_cancellation,
        line_type in ('bad_debt_adjustment', 'stock_adjustment') as is_adjustment,
        non_product_category is not null as is_non_product,
        unit_price = 0 as is_zero_price,
        unit_price < 0 as is_negative_price,
        occurrence_number > 1 as is_duplicate,
        customer_id is not null as has_customer,
        source_file,
        source_row
    from classified
)

select * from final

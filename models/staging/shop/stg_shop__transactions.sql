with

source as (
    select * from {{ source('shop', 'transactions') }}
),

stock_codes as (
    select * from {{ ref('base_shop__stock_codes') }}
),

duplicate_lines as (
    select * from {{ ref('base_shop__transaction_duplicates') }}
),

trimmed as (
    select
        {{ trimmed_transaction_columns() }}
    from source
),

classified as (
    select
        trimmed.*,
        cast(trimmed.invoiced_at as date) as invoice_date,
        trimmed.quantity * trimmed.unit_price as line_amount,
        case
            when trimmed.invoice_id like 'C%' then 'cancellation'
            when trimmed.invoice_id like 'A%' then 'bad_debt_adjustment'
            when trimmed.quantity < 0 then 'stock_adjustment'
            else 'sale'
        end as line_type,
        stock_codes.non_product_category,
        coalesce(duplicate_lines.occurrence_number, 1) as occurrence_number
    from trimmed
    left join stock_codes
        on trimmed.stock_code = stock_codes.stock_code
    left join duplicate_lines
        on trimmed.source_file = duplicate_lines.source_file
        and trimmed.source_row = duplicate_lines.source_row
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

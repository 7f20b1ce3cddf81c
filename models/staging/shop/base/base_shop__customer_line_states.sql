{#- Read from the log itself rather than from staging, which depends on the duplicate search.
    Nothing staging derives for a customer's lines escapes it: duplicates are identical lines,
    hence lines of one customer, decided among that customer's lines; the non-product
    category of a line follows from its stock code and the seed, whose contents are
    fingerprinted too; the vars as_of_date and evening_start_hour are part of the settings.
    A change of the models' SQL needs `dbt build --full-refresh`, as for any incremental
    model. Where the warehouse cannot delete rows (Spark's Parquet tables) the four tables are
    rebuilt in full instead (macro customer_table_materialization), with the same rows. -#}
{{ config(materialized='table') }}

{%- set settings = as_of_date_setting() ~ '|' ~ (var('evening_start_hour') | string) %}
{%- set line_columns = [
    'invoice_id', 'stock_code', 'description', 'quantity', 'unit_price', 'invoiced_at',
    'customer_id', 'country', 'source_file', 'source_row',
] %}

with

source as (
    select * from {{ source('shop', 'transactions') }}
),

non_product_codes as (
    select * from {{ ref('non_product_stock_codes') }}
),

-- one row: the seed's contents (a changed seed changes every customer's state)
seed_state as (
    select
        {{ set_fingerprint(row_fingerprint(['code_pattern', 'match_type', 'category'])) }}
            as seed_state
    from non_product_codes
),

-- each line as staging cleans it (one definition, so the customer ids match staging's),
-- fingerprinted beside its customer
fingerprinted as (
    select
        lines.customer_id,
        {{ row_fingerprint(line_columns) }} as line_fingerprint
    from (
        select {{ trimmed_transaction_columns() }}
        from source
    ) as lines
),

customer_lines as (
    select
        customer_id,
        count(*) as line_count,
        {{ set_fingerprint('line_fingerprint') }} as lines_state
    from fingerprinted
    where customer_id is not null
    group by customer_id
),

final as (
    select
        customer_lines.customer_id,
        customer_lines.line_count,
        -- the lines, their count, the seed and the settings in one value
        {{ row_fingerprint([
            'customer_lines.lines_state', 'customer_lines.line_count', 'seed_state.seed_state',
            "'" ~ settings ~ "'",
        ]) }} as line_state
    from customer_lines
    cross join seed_state
)

select * from final

{{ config(materialized='table') }}

with

lines as (
    select * from {{ ref('stg_shop__transactions') }}
),

dates as (
    select
        min(invoice_date) as first_invoice_date,
        max(invoice_date) as last_invoice_date
    from lines
),

final as (
    select
        first_invoice_date,
        last_invoice_date,
        cast(
            {{ as_of_date(dbt.dateadd('day', 1, 'last_invoice_date')) }} as date
        ) as as_of_date
    from dates
)

select * from final

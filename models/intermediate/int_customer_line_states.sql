{#- One row per customer: a fingerprint (line_state) of the customer's staged lines and of the
    settings the netted tables depend on.

    int_sale_lines_netted, int_orders_netted and int_customer_order_stats are incremental: each
    row keeps the line_state it was computed from, and a build recomputes exactly the customers
    whose line_state changed
    (new, replaced or removed lines; a line that became or stopped being a duplicate; a changed
    non-product seed; the vars as_of_date or evening_start_hour). A daily file touches a few
    per cent of the customers, so a daily build nets a few per cent of the log.

    The fingerprint covers every staged column those tables read; a model that starts reading
    another column must add it here. A change of their SQL needs `dbt build --full-refresh`,
    as for any incremental model. -#}
{{ config(materialized='table') }}

{%- set settings = (var('as_of_date', '') | string | trim) ~ '|' ~ (var('evening_start_hour') | string) %}
{%- set line_columns = [
    'source_file', 'source_row', 'invoice_id', 'stock_code', 'quantity', 'unit_price',
    'invoiced_at', 'country', 'non_product_category', 'is_duplicate',
] %}

with

lines as (
    select * from {{ ref('stg_shop__transactions') }}
),

final as (
    select
        customer_id,
        count(*) as line_count,
        -- the lines' fingerprint, their count and the settings in one value
        {{ row_fingerprint([
            set_fingerprint(row_fingerprint(line_columns)), 'count(*)', "'" ~ settings ~ "'",
        ]) }} as line_state
    from lines
    where has_customer
    group by customer_id
)

select * from final

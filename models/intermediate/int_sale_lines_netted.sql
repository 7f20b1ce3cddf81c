{#- Incremental by customer: netting never crosses customers, so a build nets only the
    customers whose lines changed (base_shop__customer_line_states; the pre-hook deletes their old
    rows) and keeps the rest. Nothing here depends on the day the build runs: with the var
    as_of_date empty every line is before the as-of date. Lines are keyed by their place in the
    log (source_file, source_row) rather than by the staging line id: a unique text per line is
    the costliest column to store. Purchases at the same moment are reversed last-written
    first. -#}
{{ config(
    materialized=customer_table_materialization(),
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ delete_rows_of_changed_customers() }}",
) }}

with

-- every customer, or on an incremental build the new and changed ones
customers as (
    {{ customers_to_compute() }}
),

lines as (
    select * from {{ ref('stg_shop__transactions') }}
),

customer_product_lines as (
    select lines.*
    from lines
    where
        lines.has_customer
        and not lines.is_duplicate
        and not lines.is_non_product
        and {{ before_as_of_date('lines.invoiced_at') }}
        {%- if is_incremental() %}
        -- exists rather than in: DuckDB then probes the few changed customers instead of
        -- hashing every line of the log
        and exists (select 1 from customers where customers.customer_id = lines.customer_id)
        {%- endif %}
),

sales as (
    select *
    from customer_product_lines
    where line_type = 'sale' and quantity > 0 and unit_price > 0
),

cancellations as (
    select
        source_file as cancellation_file,
        source_row as cancellation_row,
        customer_id,
        stock_code,
        invoiced_at as cancelled_at,
        -quantity as cancelled_units
    from customer_product_lines
    where line_type = 'cancellation' and quantity < 0
),

-- the purchases of customer and product pairs that have a cancellation: the only ones a
-- cancellation can reverse, a small share of all purchases (joining every purchase with the
-- inequality below was the costliest step of the model)
cancelled_pairs as (
    select distinct customer_id, coalesce(stock_code, '') as stock_key
    from cancellations
),

-- a semi join (row-value IN), which the planner keeps ahead of the inequality join below; as
-- an inner join it was planned after it
reversible_sales as (
    select *
    from sales
    where (customer_id, coalesce(stock_code, '')) in (
        select customer_id, stock_key from cancelled_pairs
    )
),

-- every earlier purchase a cancellation could reverse, newest first
candidate_matches as (
    select
        cancellations.cancelled_units,
        sales.source_file,
        sales.source_row,
        sales.quantity,
        coalesce(
            sum(sales.quantity) over (
                partition by cancellations.cancellation_file, cancellations.cancellation_row
                order by sales.invoiced_at desc, sales.source_file desc, sales.source_row desc
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as newer_units
    from cancellations
    inner join reversible_sales as sales
        on cancellations.customer_id = sales.customer_id
        -- a log without stock codes nets per customer
        and coalesce(cancellations.stock_code, '') = coalesce(sales.stock_code, '')
        and sales.invoiced_at <= cancellations.cancelled_at
),

reversed_per_sale as (
    select
        source_file,
        source_row,
        sum(
            case
                when cancelled_units - newer_units <= 0 then 0
                when cancelled_units - newer_units < quantity then cancelled_units - newer_units
                else quantity
            end
        ) as reversed_units
    from candidate_matches
    group by source_file, source_row
),

final as (
    select
        sales.source_file,
        sales.source_row,
        sales.invoice_id,
        sales.customer_id,
        sales.stock_code,
        sales.country,
        sales.invoiced_at,
        sales.invoice_date,
        sales.unit_price,
        sales.quantity as purchased_units,
        case
            when coalesce(reversed.reversed_units, 0) > sales.quantity then sales.quantity
            else coalesce(reversed.reversed_units, 0)
        end as cancelled_units,
        -- a scalar subquery, not a join: DuckDB misjudges the size of the sales and builds
        -- the join's hash table on them
        (
            select customers.line_state from customers
            where customers.customer_id = sales.customer_id
        ) as line_state
    from sales
    left join reversed_per_sale as reversed
        on sales.source_file = reversed.source_file
        and sales.source_row = reversed.source_row
)

select
    *,
    purchased_units - cancelled_units as net_units,
    (purchased_units - cancelled_units) * unit_price as net_amount
from final

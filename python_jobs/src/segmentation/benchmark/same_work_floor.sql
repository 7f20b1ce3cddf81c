-- The same-work floor: every row and column of marts.fct_customer_features (default vars, no
-- optional engagement inputs) from the raw log in one DuckDB query, without dbt and without
-- keeping any intermediate table. It applies every rule of the feature chain: the lines as
-- staging cleans them, the duplicate rule, the non-product codes, cancellations netted against
-- earlier purchases, the as-of date and the features. The benchmark (segmentation bench) checks
-- that it returns the mart's rows (segmentation.benchmark.floor.compare_with_mart) before it
-- reports any ratio against it.
--
-- Placeholders, each a name after a dollar sign, substituted by
-- segmentation.benchmark.floor.floor_sql:
--   $transactions             the raw log: a relation with the columns of raw.transactions
--                             (invoice_id, stock_code, description, quantity, unit_price,
--                             invoiced_at, customer_id, country, source_file, source_row)
--   $non_product_stock_codes  the seed of non-product codes (code_pattern, match_type,
--                             category): reference.non_product_stock_codes or the CSV itself
--   $input_capabilities       which optional inputs the log has (capability, is_available);
--                             an input without a row counts as available
--   $as_of_date               the var as_of_date (or SEGMENTS_AS_OF_DATE) as a SQL date, or a
--                             NULL date when unset: then the day after the log's last invoice
--   $evening_start_hour       the var evening_start_hour, a whole number of hours

with

-- every line as staging reads it: codes trimmed and upper-cased, blank text as NULL
log_lines as (
    select
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
    from $transactions
),

as_of as (
    select coalesce($as_of_date, cast(max(invoiced_at) as date) + 1) as as_of_date
    from log_lines
),

inputs as (
    select
        coalesce(bool_and(is_available) filter (where capability = 'has_country'), true)
            as has_country,
        coalesce(bool_and(is_available) filter (where capability = 'has_stock_code'), true)
            as has_stock_code
    from $input_capabilities
),

-- a line that repeats an earlier line value for value (its place in the log aside) is a
-- duplicate; lines without a customer never reach a feature. Only lines whose 64-bit hash of
-- those values repeats can be duplicates, so only they are numbered (on the values themselves:
-- a hash collision costs time, never a wrong line)
hashed_lines as (
    select
        *,
        hash(
            invoice_id, stock_code, description, quantity, unit_price, invoiced_at,
            customer_id, country
        ) as line_hash
    from log_lines
    where customer_id is not null
),

repeated_hashes as (
    select line_hash
    from hashed_lines
    group by line_hash
    having count(*) > 1
),

customer_lines as (
    select *
    from hashed_lines
    where line_hash not in (select line_hash from repeated_hashes)
    union all
    select *
    from hashed_lines
    where line_hash in (select line_hash from repeated_hashes)
    qualify row_number() over (
        partition by
            invoice_id, stock_code, description, quantity, unit_price, invoiced_at,
            customer_id, country
        order by source_file, source_row
    ) = 1
),

non_product_codes as (
    select distinct codes.stock_code
    from (select distinct stock_code from customer_lines) as codes
    inner join $non_product_stock_codes as patterns
        on (patterns.match_type = 'exact' and codes.stock_code = patterns.code_pattern)
        or (patterns.match_type = 'prefix' and starts_with(codes.stock_code, patterns.code_pattern))
),

-- product lines before the as-of date, each marked as a cancellation (C invoice), an
-- adjustment (A invoice, or a negative quantity outside a C invoice) or a sale
product_lines as (
    select
        lines.*,
        coalesce(lines.invoice_id like 'C%', false) as is_cancellation,
        coalesce(lines.invoice_id like 'A%', false) or lines.quantity < 0 as is_adjustment,
        -- netting pairs a cancellation with purchases of the same code (a missing code as '')
        coalesce(lines.stock_code, '') as product_key
    from customer_lines as lines
    cross join as_of
    where
        not exists (
            select 1 from non_product_codes as codes where codes.stock_code = lines.stock_code
        )
        and ($as_of_date is null or lines.invoiced_at < as_of.as_of_date)
),

purchases as (
    select *
    from product_lines
    where not is_cancellation and not is_adjustment and quantity > 0 and unit_price > 0
),

cancellations as (
    select source_file, source_row, customer_id, product_key, invoiced_at, -quantity as units
    from product_lines
    where is_cancellation and quantity < 0
),

-- a cancellation takes back units of the customer's earlier purchases of the product, the
-- newest first (at the same moment, the one written last first), until its units run out
reversals as (
    select
        purchases.source_file,
        purchases.source_row,
        purchases.quantity,
        greatest(
            0,
            least(
                purchases.quantity,
                cancellations.units
                    - sum(purchases.quantity) over (
                        partition by cancellations.source_file, cancellations.source_row
                        order by
                            purchases.invoiced_at desc,
                            purchases.source_file desc,
                            purchases.source_row desc
                        rows between unbounded preceding and current row
                    )
                    + purchases.quantity
            )
        ) as units
    from cancellations
    inner join purchases
        on cancellations.customer_id = purchases.customer_id
        and cancellations.product_key = purchases.product_key
        and purchases.invoiced_at <= cancellations.invoiced_at
),

reversed_purchases as (
    select source_file, source_row, least(sum(units), min(quantity)) as cancelled_units
    from reversals
    group by source_file, source_row
),

netted_purchases as (
    select
        purchases.customer_id,
        purchases.invoice_id,
        purchases.stock_code,
        purchases.country,
        purchases.invoiced_at,
        purchases.quantity,
        coalesce(reversed.cancelled_units, 0) as cancelled_units,
        purchases.quantity - coalesce(reversed.cancelled_units, 0) as net_units,
        (purchases.quantity - coalesce(reversed.cancelled_units, 0)) * purchases.unit_price
            as net_amount
    from purchases
    left join reversed_purchases as reversed
        on purchases.source_file = reversed.source_file
        and purchases.source_row = reversed.source_row
),

-- orders whose purchases were not all taken back
kept_orders as (
    select
        customer_id,
        min(invoiced_at) as ordered_at,
        min(country) as country,
        sum(net_units) as net_units,
        sum(net_amount) as net_amount
    from netted_purchases
    group by customer_id, invoice_id
    having sum(net_amount) > 0
),

order_figures as (
    select
        customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as frequency_orders,
        sum(net_amount) as monetary_amount,
        sum(net_units) as net_units,
        count(distinct date_trunc('month', ordered_at)) as active_months,
        avg(case when dayofweek(ordered_at) in (0, 6) then 1.0 else 0.0 end)::double
            as weekend_order_share,
        avg(case when hour(ordered_at) >= $evening_start_hour then 1.0 else 0.0 end)::double
            as evening_order_share,
        -- gift season: October to December of any year (at most all of it, whatever the last
        -- bit of two float sums)
        least(
            1.0,
            sum(case when month(ordered_at) >= 10 then net_amount else 0 end) / sum(net_amount)
        ) as q4_revenue_share
    from kept_orders
    group by customer_id
),

purchase_figures as (
    select
        customer_id,
        count(distinct stock_code) filter (where net_units > 0) as distinct_products,
        sum(quantity) as purchased_units,
        sum(cancelled_units) as cancelled_units
    from netted_purchases
    group by customer_id
),

-- where the customer spent most; ties to the latest order, then to the country's name
countries as (
    select
        customer_id,
        country,
        count(*) over (partition by customer_id) as country_count
    from kept_orders
    group by customer_id, country
    qualify row_number() over (
        partition by customer_id
        order by sum(net_amount) desc, max(ordered_at) desc, country
    ) = 1
)

select
    orders.customer_id,
    as_of.as_of_date,
    case when inputs.has_country then countries.country end as primary_country,
    case when inputs.has_country then countries.country_count end as country_count,
    orders.first_order_at,
    orders.last_order_at,
    date_diff('day', orders.last_order_at, as_of.as_of_date) as recency_days,
    orders.frequency_orders,
    orders.monetary_amount,
    date_diff('day', orders.first_order_at, as_of.as_of_date) as tenure_days,
    orders.monetary_amount / orders.frequency_orders as avg_order_value,
    orders.net_units::double / orders.frequency_orders as avg_items_per_order,
    orders.monetary_amount / orders.net_units as avg_unit_price,
    case when inputs.has_stock_code then purchases.distinct_products end as distinct_products,
    purchases.cancelled_units::double / purchases.purchased_units as cancellation_rate,
    case
        when orders.frequency_orders > 1
            then date_diff('day', orders.first_order_at, orders.last_order_at)::double
                / (orders.frequency_orders - 1)
    end as mean_days_between_orders,
    orders.weekend_order_share,
    orders.evening_order_share,
    orders.active_months,
    orders.q4_revenue_share
from order_figures as orders
inner join purchase_figures as purchases on orders.customer_id = purchases.customer_id
inner join countries on orders.customer_id = countries.customer_id
cross join as_of
cross join inputs

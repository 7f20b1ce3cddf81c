{#- Built from the log's bounds alone, without reading the lines again. -#}
with

bounds as (
    select * from {{ ref('int_log_bounds') }}
),

-- the log covers its first invoice date up to its last one, but never the as-of date or later
coverage as (
    select
        first_invoice_date as covered_from_date,
        case
            when last_invoice_date < as_of_date then last_invoice_date
            else cast({{ dbt.dateadd('day', -1, 'as_of_date') }} as date)
        end as covered_to_date
    from bounds
),

-- 0 … 999: months after the first (83 years), portable without a generator function
digits as (
    {%- for digit in range(10) %}
    select {{ digit }} as digit{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),

month_offsets as (
    select ones.digit + 10 * tens.digit + 100 * hundreds.digit as month_offset
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
),

first_month as (
    select
        cast({{ dbt.date_trunc('month', 'covered_from_date') }} as date) as first_month_date,
        {{ dbt.datediff(
            dbt.date_trunc('month', 'covered_from_date'),
            dbt.date_trunc('month', 'covered_to_date'),
            'month',
        ) }} as last_month_offset
    from coverage
    where covered_from_date <= covered_to_date
),

months as (
    select
        cast({{ dbt.dateadd('month', 'month_offsets.month_offset', 'first_month.first_month_date') }}
            as date) as month_start_date
    from first_month
    cross join month_offsets
    where month_offsets.month_offset <= first_month.last_month_offset
),

month_bounds as (
    select
        months.month_start_date,
        cast({{ dbt.last_day('months.month_start_date', 'month') }} as date) as month_end_date,
        coverage.covered_from_date as log_from_date,
        coverage.covered_to_date as log_to_date
    from months
    cross join coverage
),

covered as (
    select
        month_start_date,
        month_end_date,
        case
            when log_from_date > month_start_date then log_from_date
            else month_start_date
        end as covered_from_date,
        case
            when log_to_date < month_end_date then log_to_date
            else month_end_date
        end as covered_to_date
    from month_bounds
),

final as (
    select
        month_start_date,
        month_end_date,
        covered_from_date,
        covered_to_date,
        {{ dbt.datediff('month_start_date', 'month_end_date', 'day') }} + 1 as day_count,
        {{ dbt.datediff('covered_from_date', 'covered_to_date', 'day') }} + 1 as covered_day_count,
        covered_from_date > month_start_date or covered_to_date < month_end_date as is_partial_month
    from covered
)

select * from final

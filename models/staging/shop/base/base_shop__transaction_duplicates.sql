{#- One row per loaded line that repeats an earlier identical line: equal to it in every column
    after the staging clean-up, except its place in the file ("earlier" = first by source file,
    then source row). The staging view flags these lines as duplicates.

    A small table of its own so that the whole log is searched for duplicates once per build,
    not on every query of the staging view. Numbering every line within its group of equals
    would sort the whole log; instead a fingerprint of the columns finds the few groups with
    more than one line and only those are numbered, on the columns themselves (a fingerprint
    collision costs time, never a wrong flag). -#}
{{ config(materialized='table') }}

{%- set line_columns = [
    'invoice_id', 'stock_code', 'description', 'quantity', 'unit_price',
    'invoiced_at', 'customer_id', 'country',
] %}

with

-- The log is read twice, each time in a subquery rather than through one shared CTE: DuckDB
-- keeps a CTE that is read twice in memory, here the whole log.
repeated_fingerprints as (
    select line_fingerprint
    from (
        select {{ row_fingerprint(line_columns) }} as line_fingerprint
        from (
            select {{ trimmed_transaction_columns() }}
            from {{ source('shop', 'transactions') }}
        ) as lines
    ) as fingerprints
    group by line_fingerprint
    having count(*) > 1
),

repeated_lines as (
    select fingerprinted.*
    from (
        select
            lines.*,
            {{ row_fingerprint(line_columns) }} as line_fingerprint
        from (
            select {{ trimmed_transaction_columns() }}
            from {{ source('shop', 'transactions') }}
        ) as lines
    ) as fingerprinted
    where fingerprinted.line_fingerprint in (select line_fingerprint from repeated_fingerprints)
),

numbered as (
    select
        transaction_line_id,
        source_file,
        source_row,
        row_number() over (
            partition by {{ line_columns | join(', ') }}
            order by source_file, source_row
        ) as occurrence_number
    from repeated_lines
),

final as (
    select
        transaction_line_id,
        source_file,
        source_row,
        occurrence_number
    from numbered
    where occurrence_number > 1
)

select * from final

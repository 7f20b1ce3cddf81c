{#- The customer rows (line columns empty) are what makes the search incremental;
    base_shop__transaction_duplicates lists the duplicates alone. Lines without a customer have
    no line_state, so they are searched on every build (about a quarter of a typical log).

    Numbering every line within its group of equals would sort the lines; a fingerprint of the
    columns finds the few groups with more than one line and only those are numbered, on the
    columns themselves (a fingerprint collision costs time, never a wrong flag). -#}
{{ config(
    materialized=customer_table_materialization(),
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook=[
        "{{ delete_rows_of_changed_customers() }}",
        "{% if is_incremental() %}delete from {{ this }} where customer_id is null{% endif %}",
    ],
) }}

{%- set line_columns = [
    'invoice_id', 'stock_code', 'description', 'quantity', 'unit_price',
    'invoiced_at', 'customer_id', 'country',
] %}

{#- The lines searched on this build, as a subquery to inline twice: DuckDB keeps a CTE that is
    read twice in memory, on a full build the whole log. -#}
{%- set searched_lines -%}
    (
        select lines.*
        from (
            select {{ trimmed_transaction_columns() }}
            from {{ source('shop', 'transactions') }}
        ) as lines
        {%- if is_incremental() %}
        where
            lines.customer_id is null
            or exists (select 1 from customers where customers.customer_id = lines.customer_id)
        {%- endif %}
    )
{%- endset %}

with

-- every customer, or on an incremental build the new and changed ones
customers as (
    {{ customers_to_compute() }}
),

repeated_fingerprints as (
    select line_fingerprint
    from (
        select {{ row_fingerprint(line_columns) }} as line_fingerprint
        from {{ searched_lines }} as searched
    ) as fingerprints
    group by line_fingerprint
    having count(*) > 1
),

repeated_lines as (
    select fingerprinted.*
    from (
        select
            searched.*,
            {{ row_fingerprint(line_columns) }} as line_fingerprint
        from {{ searched_lines }} as searched
    ) as fingerprinted
    where fingerprinted.line_fingerprint in (select line_fingerprint from repeated_fingerprints)
),

numbered as (
    select
        transaction_line_id,
        customer_id,
        source_file,
        source_row,
        row_number() over (
            partition by {{ line_columns | join(', ') }}
            order by source_file, source_row
        ) as occurrence_number
    from repeated_lines
),

duplicates as (
    select
        numbered.customer_id,
        customers.line_state,
        numbered.transaction_line_id,
        numbered.source_file,
        numbered.source_row,
        numbered.occurrence_number
    from numbered
    left join customers
        on numbered.customer_id = customers.customer_id
    where numbered.occurrence_number > 1
),

searched_customers as (
    select
        customer_id,
        line_state,
        cast(null as {{ dbt.type_string() }}) as transaction_line_id,
        cast(null as {{ dbt.type_string() }}) as source_file,
        cast(null as {{ dbt.type_bigint() }}) as source_row,
        cast(null as {{ dbt.type_bigint() }}) as occurrence_number
    from customers
),

final as (
    select * from duplicates
    union all
    select * from searched_customers
)

select * from final

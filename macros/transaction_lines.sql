{#- Helpers shared by the staging models of the transaction log. -#}

{% macro trimmed_transaction_columns() -%}
    {#- The select list that cleans a row of source('shop', 'transactions'): the line's id, text
        trimmed, codes upper-cased, blanks as NULL. One definition for every model that must see
        the lines exactly as staging does. -#}
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
{%- endmacro %}

{% macro row_fingerprint(columns) -%}
    {#- A fingerprint of a row's values, to find candidate duplicates cheaply. Equal values give
        equal fingerprints (NULLs included); different values almost always give different
        ones, so callers compare the columns themselves among rows sharing a fingerprint. -#}
    {{ return(adapter.dispatch('row_fingerprint', 'customer_segments')(columns)) }}
{%- endmacro %}

{% macro default__row_fingerprint(columns) -%}
    {#- Portable: md5 of the values as text, with a marker for NULL between separators. -#}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(" ~ dbt.safe_cast(column, api.Column.translate_type('string')) ~ ", '<null>')") -%}
        {%- if not loop.last -%}{%- do parts.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{% macro duckdb__row_fingerprint(columns) -%}
    {#- DuckDB's 64-bit hash of the values: much faster than md5 of text. -#}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__row_fingerprint(columns) -%}
    {#- Spark's 64-bit xxhash64 of the values. It skips NULLs, so (a, NULL, b) would hash like
        (a, b, NULL): each value goes in with a flag saying whether it is NULL. -#}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append(column) -%}
        {%- do parts.append(column ~ " is null") -%}
    {%- endfor -%}
    xxhash64({{ parts | join(', ') }})
{%- endmacro %}

{% macro set_fingerprint(row_fingerprint_expression) -%}
    {#- An aggregate: one fingerprint of a set of rows from their row fingerprints
        (row_fingerprint), the same whatever the order of the rows. Any added, removed or
        changed row changes it (up to hash collisions). -#}
    {{ return(adapter.dispatch('set_fingerprint', 'customer_segments')(row_fingerprint_expression)) }}
{%- endmacro %}

{% macro default__set_fingerprint(row_fingerprint_expression) -%}
    {#- Portable: the hash of the row fingerprints listed in sorted order. -#}
    {{ dbt.hash(dbt.listagg(row_fingerprint_expression, "'|'", "order by " ~ row_fingerprint_expression)) }}
{%- endmacro %}

{% macro spark__set_fingerprint(row_fingerprint_expression) -%}
    {#- Spark: exclusive or of the row fingerprints hashed once more, one pass and no sort (the
        portable version sorts; dbt's listagg on Spark does not keep an order). -#}
    bit_xor(xxhash64({{ row_fingerprint_expression }}))
{%- endmacro %}

{% macro duckdb__set_fingerprint(row_fingerprint_expression) -%}
    {#- DuckDB: exclusive or of the 64-bit row hashes, one pass and no sort. Each row hash is
        hashed once more first: DuckDB folds the last value of a multi-value hash in by
        exclusive or, so without it a change of that value in an even number of rows would
        cancel out. -#}
    bit_xor(hash({{ row_fingerprint_expression }}))
{%- endmacro %}

{% macro customers_to_compute() -%}
    {#- The customers an incremental customer table computes on this build, with their current
        line_state: every customer of the log on a full build; on an incremental build those
        the table does not hold (new customers, and those whose rows the pre-hook
        delete_rows_of_changed_customers deleted because their lines changed). -#}
    select line_states.customer_id, line_states.line_state
    from {{ ref('base_shop__customer_line_states') }} as line_states
    {%- if is_incremental() %}
    where not exists (
        select 1 from {{ this }} as held where held.customer_id = line_states.customer_id
    )
    {%- endif %}
{%- endmacro %}

{% macro customer_table_materialization() -%}
    {#- How the customer tables kept between builds are materialized: `incremental` where the
        warehouse deletes rows of a table (the pre-hook delete_rows_of_changed_customers
        needs it), else `table`, rebuilt in full on every build with the same result. -#}
    {{ return('incremental' if adapter.dispatch('can_delete_rows', 'customer_segments')() else 'table') }}
{%- endmacro %}

{% macro default__can_delete_rows() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro spark__can_delete_rows() -%}
    {#- Spark deletes rows only from Delta, Iceberg or Hudi tables; dbt-spark writes Parquet
        tables unless told otherwise, and `DELETE` fails on them. (A project that writes Delta
        tables, +file_format: delta, can return true here.) -#}
    {{ return(false) }}
{%- endmacro %}

{% macro databricks__can_delete_rows() -%}
    {#- Databricks writes Delta tables by default. Not tested here. -#}
    {{ return(true) }}
{%- endmacro %}

{% macro delete_rows_of_changed_customers() -%}
    {#- Pre-hook of the incremental customer tables: delete the rows of every customer whose
        lines changed since the rows were computed, i.e. whose stored line_state is no longer
        the one in base_shop__customer_line_states (new, replaced or removed lines, a changed
        setting). The model then recomputes the customers it no longer holds. Runs inside the
        model's transaction, so a failed build keeps the old rows. A table built before it
        kept line states (a warehouse of an earlier version) is emptied and recomputed whole;
        on_schema_change then adds the column. -#}
    {%- if is_incremental() %}
    {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list %}
    {%- if 'line_state' in stored %}
    delete from {{ this }}
    where customer_id in (
        select customer_id
        from (
            select customer_id, line_state from {{ this }}
            except
            select customer_id, line_state from {{ ref('base_shop__customer_line_states') }}
        ) as stale
    )
    {%- else %}
    delete from {{ this }}
    {%- endif %}
    {%- endif %}
{%- endmacro %}

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
    {#- DuckDB's 64-bit hash of the values: many times faster than md5 of text. -#}
    hash({{ columns | join(', ') }})
{%- endmacro %}

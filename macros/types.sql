{#- dbt.type_float() as a 64-bit float on every target. Through the `dispatch` search order in
    dbt_project.yml these overrides come before dbt's own definitions; other adapters keep
    dbt's (Postgres `float` and Snowflake `float` are already 64-bit, BigQuery's is float64). -#}

{#- DuckDB reads `float` as a 4-byte REAL, which keeps only about 7 digits of shares, rates and
    money. -#}
{% macro duckdb__type_float() -%}
    double
{%- endmacro %}

{#- Spark's `float` is 4 bytes too. -#}
{% macro spark__type_float() -%}
    double
{%- endmacro %}

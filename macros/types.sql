{#- DuckDB reads `float` as a 4-byte REAL, which keeps only about 7 digits of shares, rates and
    money. Through the `dispatch` search order in dbt_project.yml this override makes
    dbt.type_float() a DOUBLE on DuckDB; other adapters keep dbt's own definition. -#}
{% macro duckdb__type_float() -%}
    double
{%- endmacro %}

{#- Use the folder's schema name as it is (staging, intermediate, marts, ml) instead of
    dbt's default `<target schema>_<custom schema>`, so BI users query `marts.dim_segments`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

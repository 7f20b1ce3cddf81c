{#- dbt.listagg() on Spark in the order asked for. dbt-spark's own version drops the order (with
    a warning), so a list such as dim_segments.explanation_rule would come out in whatever order
    the rows arrive. Spark 4 aggregates text in order with `listagg … within group`. Found first
    through the project's dispatch search order. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if limit_num -%}
        {{ exceptions.raise_compiler_error("listagg with a limit is not supported on Spark by this project") }}
    {%- endif -%}
    listagg({{ measure }}, {{ delimiter_text }})
    {%- if order_by_clause %} within group ({{ order_by_clause }}){% endif %}
{%- endmacro %}

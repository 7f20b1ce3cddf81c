{#- Fails on every row where `expression` (a SQL boolean over the model's columns) is not true:
    false or NULL. Not dbt-utils' expression_is_true, which lets a NULL pass and prefixes the
    column to the expression. `column_name` is accepted so the test can sit under a column; the
    expression says what to check. -#}
{% test expression_holds(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}

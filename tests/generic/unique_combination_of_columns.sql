{#- Fails on every combination of `combination_of_columns` that occurs more than once: the
    primary-key test for tables whose key spans several columns. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
{%- set columns_csv = combination_of_columns | join(', ') %}
select
    {{ columns_csv }},
    count(*) as occurrences
from {{ model }}
group by {{ columns_csv }}
having count(*) > 1
{% endtest %}

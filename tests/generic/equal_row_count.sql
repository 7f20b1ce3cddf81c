{% test equal_row_count(model, compare_model) %}
with

tested as (
    select count(*) as row_count from {{ model }}
),

compared as (
    select count(*) as row_count from {{ compare_model }}
)

select tested.row_count as model_rows, compared.row_count as compare_model_rows
from tested
cross join compared
where tested.row_count <> compared.row_count
{% endtest %}

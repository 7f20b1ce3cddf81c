{% test sum_equals_row_count(model, column_name, compare_model) %}
with

summed as (
    select coalesce(sum({{ column_name }}), 0) as summed_value from {{ model }}
),

counted as (
    select count(*) as row_count from {{ compare_model }}
)

select summed.summed_value, counted.row_count
from summed
cross join counted
where summed.summed_value <> counted.row_count
{% endtest %}

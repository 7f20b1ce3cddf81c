{#- The query dispatches (macros/repeated_combinations.sql): DuckDB counts fingerprints first. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
{{ adapter.dispatch('repeated_combinations', 'customer_segments')(model, combination_of_columns) }}
{% endtest %}

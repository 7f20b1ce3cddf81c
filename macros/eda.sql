{#- Helpers shared by the EDA queries in analyses/. -#}

{% macro eda_feature_columns() -%}
    {#- The numeric customer features of fct_customer_features that the EDA describes
        (distributions and correlations), in the order they are reported. -#}
    {{ return([
        'recency_days',
        'frequency_orders',
        'monetary_amount',
        'tenure_days',
        'avg_order_value',
        'avg_items_per_order',
        'avg_unit_price',
        'distinct_products',
        'cancellation_rate',
        'mean_days_between_orders',
        'weekend_order_share',
        'evening_order_share',
        'active_months',
    ]) }}
{%- endmacro %}

{% macro eda_quantiles() -%}
    {#- The quantiles the distribution analyses report: (column name prefix, probability). -#}
    {{ return([
        ('p01', 0.01),
        ('p05', 0.05),
        ('p25', 0.25),
        ('median', 0.5),
        ('p75', 0.75),
        ('p95', 0.95),
        ('p99', 0.99),
    ]) }}
{%- endmacro %}

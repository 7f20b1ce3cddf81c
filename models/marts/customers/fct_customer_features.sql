{#- The statistics come from int_customer_order_stats (incremental); here they meet the as-of
    date, which moves with every new day of the log. -#}
with

bounds as (
    select * from {{ ref('int_log_bounds') }}
),

order_stats as (
    select * from {{ ref('int_customer_order_stats') }}
),

capabilities as (
    select * from {{ ref('stg_shop__input_capabilities') }}
),
{%- if engagement_defines_segments() %}

engagement as (
    select * from {{ ref('int_customer_engagement') }}
),
{%- endif %}
{%- if defining_attributes() %}
{%- set indicators = attribute_indicator_columns(ref('int_customer_attributes_current')) %}

-- segmentation.categorical_attributes: one 0/1 column per category of each defining attribute
attribute_indicators as (
    select
        customer_id
        {%- for indicator in indicators %},
        max(case
            when attribute_name = '{{ indicator.attribute }}'
                and attribute_category = '{{ indicator.category | replace("'", "''") }}'
                then 1 else 0
        end) as {{ indicator.column }}
        {%- endfor %}
    from {{ ref('int_customer_attributes_current') }}
    where {{ defining_attribute_filter('attribute_name') }}
    group by customer_id
),
{%- endif %}

final as (
    select
        order_stats.customer_id,
        bounds.as_of_date,
        -- switched off (null) when the log has no country column
        case
            when {{ input_is_available('has_country', 'capabilities') }}
                then order_stats.primary_country
        end as primary_country,
        case
            when {{ input_is_available('has_country', 'capabilities') }}
                then order_stats.country_count
        end as country_count,
        order_stats.first_order_at,
        order_stats.last_order_at,
        {{ dbt.datediff('order_stats.last_order_at', 'bounds.as_of_date', 'day') }} as recency_days,
        order_stats.frequency_orders,
        order_stats.monetary_amount,
        {{ dbt.datediff('order_stats.first_order_at', 'bounds.as_of_date', 'day') }} as tenure_days,
        order_stats.monetary_amount / order_stats.frequency_orders as avg_order_value,
        cast(order_stats.net_units as {{ dbt.type_float() }}) / order_stats.frequency_orders
            as avg_items_per_order,
        order_stats.monetary_amount / order_stats.net_units as avg_unit_price,
        -- switched off (null) when the log has no stock code column
        case
            when {{ input_is_available('has_stock_code', 'capabilities') }}
                then order_stats.distinct_products
        end as distinct_products,
        cast(order_stats.cancelled_units as {{ dbt.type_float() }}) / order_stats.purchased_units
            as cancellation_rate,
        case
            when order_stats.frequency_orders > 1
                then cast(
                    {{ dbt.datediff('order_stats.first_order_at', 'order_stats.last_order_at', 'day') }}
                    as {{ dbt.type_float() }}
                ) / (order_stats.frequency_orders - 1)
        end as mean_days_between_orders,
        order_stats.weekend_order_share,
        order_stats.evening_order_share,
        order_stats.active_months,
        order_stats.q4_revenue_share
        {%- if engagement_defines_segments() %},
        -- var engagement_feature_role = define: the engagement features join the model's
        -- candidate inputs (list them in segmentation.features, with an imputation rule)
        {%- for feature in engagement_profile_features() %}
        engagement.{{ feature }}{{ "," if not loop.last }}
        {%- endfor %}
        {%- endif %}
        {%- if defining_attributes() %}
        {%- for indicator in indicators %},
        cast(coalesce(attribute_indicators.{{ indicator.column }}, 0) as {{ dbt.type_float() }})
            as {{ indicator.column }}
        {%- endfor %}
        {%- endif %}
    from order_stats
    cross join bounds
    {%- if engagement_defines_segments() %}
    left join engagement
        on order_stats.customer_id = engagement.customer_id
    {%- endif %}
    {%- if defining_attributes() %}
    left join attribute_indicators
        on order_stats.customer_id = attribute_indicators.customer_id
    {%- endif %}
)

select * from final

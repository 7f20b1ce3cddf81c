{%- set profile_features = segment_profile_features() -%}
-- depends_on: {{ ref('ml_segment_evaluation') }} (its quality gates must pass first)
with

assignments as (
    select * from {{ ref('ml_customer_assignments') }}
),

features as (
    select * from {{ ref('fct_customer_features') }}
),

profiles as (
    select * from {{ ref('ml_segment_profiles') }}
),

personas as (
    select * from {{ ref('ml_segment_personas') }}
),

explanation_rules as (
    select * from {{ ref('ml_segment_explanation_rules') }}
),

customers as (
    select
        assignments.segment_id,
        features.customer_id,
        features.monetary_amount,
        features.primary_country
    from assignments
    inner join features
        on assignments.customer_id = features.customer_id
),

totals as (
    select
        count(*) as all_customers,
        sum(monetary_amount) as all_revenue
    from customers
),

per_segment as (
    select
        segment_id,
        count(*) as customer_count,
        sum(monetary_amount) as revenue_amount
    from customers
    group by segment_id
),

-- most common primary country; ties go to the country name
country_ranking as (
    select
        segment_id,
        primary_country,
        count(*) as customer_count,
        row_number() over (
            partition by segment_id
            order by count(*) desc, primary_country
        ) as country_rank
    from customers
    where primary_country is not null
    group by segment_id, primary_country
),

-- the surrogate tree's leaves for each segment, the most complete rule first
explanations as (
    select
        segment_id,
        {{ dbt.listagg('rule_text', "' OR '", 'order by rule_coverage desc, leaf_id') }}
            as explanation_rule,
        sum(segment_customer_count) as explained_customers,
        sum(customer_count) as predicted_customers
    from explanation_rules
    group by segment_id
),

feature_columns as (
    select
        segment_id,
        {%- for item in profile_features %}
        max(case when feature_name = '{{ item.feature }}' then segment_mean end) as mean_{{ item.stem }},
        max(case when feature_name = '{{ item.feature }}' then segment_median end) as median_{{ item.stem }},
        max(case when feature_name = '{{ item.feature }}' then lift end) as {{ item.stem }}_lift
        {{- "," if not loop.last }}
        {%- endfor %}
    from profiles
    group by segment_id
),

final as (
    select
        cast(per_segment.segment_id as {{ dbt.type_bigint() }}) as segment_id,
        cast(personas.persona_name as {{ dbt.type_string() }}) as segment_name,
        cast(personas.persona_description as {{ dbt.type_string() }}) as persona_description,
        cast(personas.persona_reason as {{ dbt.type_string() }}) as persona_reason,
        cast(personas.recommended_action as {{ dbt.type_string() }}) as recommended_action,
        cast(per_segment.customer_count as {{ dbt.type_bigint() }}) as customer_count,
        cast(per_segment.customer_count as {{ dbt.type_float() }}) / totals.all_customers
            as customer_share,
        cast(per_segment.revenue_amount as {{ dbt.type_float() }}) as revenue_amount,
        cast(per_segment.revenue_amount / totals.all_revenue as {{ dbt.type_float() }})
            as revenue_share,
        cast(country_ranking.primary_country as {{ dbt.type_string() }}) as top_country,
        cast(country_ranking.customer_count as {{ dbt.type_float() }}) / per_segment.customer_count
            as top_country_customer_share,
        cast(personas.typical_order_value as {{ dbt.type_float() }}) as typical_order_value,
        cast(personas.typical_orders as {{ dbt.type_float() }}) as typical_orders,
        cast(personas.typical_days_between_orders as {{ dbt.type_float() }})
            as typical_days_between_orders,
        cast(personas.cadence_description as {{ dbt.type_string() }}) as cadence_description,
        cast(explanations.explanation_rule as {{ dbt.type_string() }}) as explanation_rule,
        cast(explanations.explained_customers as {{ dbt.type_float() }})
            / nullif(explanations.predicted_customers, 0) as explanation_precision,
        cast(coalesce(explanations.explained_customers, 0) as {{ dbt.type_float() }})
            / per_segment.customer_count as explanation_coverage,
        {%- for item in profile_features %}
        cast(feature_columns.mean_{{ item.stem }} as {{ dbt.type_float() }}) as mean_{{ item.stem }},
        cast(feature_columns.median_{{ item.stem }} as {{ dbt.type_float() }}) as median_{{ item.stem }},
        cast(feature_columns.{{ item.stem }}_lift as {{ dbt.type_float() }}) as {{ item.stem }}_lift
        {{- "," if not loop.last }}
        {%- endfor %}
    from per_segment
    cross join totals
    left join personas
        on per_segment.segment_id = personas.segment_id
    left join country_ranking
        on per_segment.segment_id = country_ranking.segment_id
        and country_ranking.country_rank = 1
    left join explanations
        on per_segment.segment_id = explanations.segment_id
    left join feature_columns
        on per_segment.segment_id = feature_columns.segment_id
)

select * from final

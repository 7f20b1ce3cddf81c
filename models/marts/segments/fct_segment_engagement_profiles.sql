{#- Engagement per segment against all segmented customers. Means are over the customers with a
    value (coverage says how many), never over imputed zeros. No engagement data: no rows. -#}
with

assignments as (
    select * from {{ ref('ml_customer_assignments') }}
),

engagement as (
    select * from {{ ref('fct_customer_engagement') }}
),

customer_values as (
    {{ segment_engagement_values('assignments', 'engagement', with_position=true) }}
),

population as (
    select
        feature_name,
        count(*) as population_customers,
        count(feature_value) as population_with_value,
        avg(feature_value) as population_mean
    from customer_values
    group by feature_name
),

segment_stats as (
    select
        segment_id,
        feature_name,
        feature_position,
        count(*) as segment_customers,
        count(feature_value) as customers_with_value,
        avg(feature_value) as segment_mean
    from customer_values
    group by segment_id, feature_name, feature_position
),

final as (
    select
        cast(segment_stats.segment_id as {{ dbt.type_bigint() }}) as segment_id,
        cast(segment_stats.feature_name as {{ dbt.type_string() }}) as feature_name,
        cast(segment_stats.feature_position as {{ dbt.type_bigint() }}) as feature_position,
        cast(segment_stats.segment_customers as {{ dbt.type_bigint() }}) as segment_customers,
        cast(segment_stats.customers_with_value as {{ dbt.type_bigint() }}) as customers_with_value,
        cast(segment_stats.customers_with_value as {{ dbt.type_float() }})
            / segment_stats.segment_customers as coverage,
        cast(population.population_with_value as {{ dbt.type_float() }})
            / population.population_customers as population_coverage,
        cast(segment_stats.segment_mean as {{ dbt.type_float() }}) as segment_mean,
        cast(population.population_mean as {{ dbt.type_float() }}) as population_mean,
        cast(segment_stats.segment_mean / nullif(population.population_mean, 0)
            as {{ dbt.type_float() }}) as lift
    from segment_stats
    inner join population
        on segment_stats.feature_name = population.feature_name
    where population.population_with_value > 0
)

select * from final

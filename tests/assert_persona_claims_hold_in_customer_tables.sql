-- Recompute each persona claim (ml_segment_persona_claims) from what it is about: the
-- assignments and the customer features. A claim fails when its statistic cannot be recomputed,
-- differs from the recorded value, or does not meet its comparison (e.g. the "Champions"
-- segment's revenue lift is not >= 1.5). Profile features the feature table lacks are left out
-- (a claim about one then fails). Claims about the optional inputs are recomputed from
-- fct_customer_engagement (lift of a feature's mean over the customers with a value) and
-- int_customer_attributes_current (lift of a category's share among customers with a value).
{%- set available = [] %}
{%- if execute %}
    {%- set columns = adapter.get_columns_in_relation(ref('fct_customer_features'))
        | map(attribute='name') | map('lower') | list %}
    {%- for item in segment_profile_features() if item.feature in columns %}
        {%- do available.append(item.feature) %}
    {%- endfor %}
{%- endif %}
with

assignments as (
    select * from {{ ref('ml_customer_assignments') }}
),

features as (
    select * from {{ ref('fct_customer_features') }}
),

claims as (
    select * from {{ ref('ml_segment_persona_claims') }}
),

engagement as (
    select * from {{ ref('fct_customer_engagement') }}
),

attributes as (
    select * from {{ ref('int_customer_attributes_current') }}
),

engagement_values as (
    select *
    from (
        {{ segment_engagement_values('assignments', 'engagement') }}
    ) as unpivoted
    where feature_value is not null
),

engagement_recomputed as (
    select
        segment_means.segment_id,
        segment_means.feature_name,
        segment_means.segment_mean / nullif(population_means.population_mean, 0) as lift
    from (
        select segment_id, feature_name, avg(feature_value) as segment_mean
        from engagement_values
        group by segment_id, feature_name
    ) as segment_means
    inner join (
        select feature_name, avg(feature_value) as population_mean
        from engagement_values
        group by feature_name
    ) as population_means
        on segment_means.feature_name = population_means.feature_name
),

attribute_values as (
    select
        assignments.segment_id,
        attributes.attribute_name,
        attributes.attribute_name || '=' || attributes.attribute_category as feature_name
    from assignments
    inner join attributes
        on assignments.customer_id = attributes.customer_id
),

attribute_recomputed as (
    select
        in_segment.segment_id,
        in_segment.feature_name,
        (cast(in_segment.customers as {{ dbt.type_float() }}) / segment_covered.customers)
            / (cast(overall.customers as {{ dbt.type_float() }}) / population_covered.customers)
            as lift
    from (
        select segment_id, attribute_name, feature_name, count(*) as customers
        from attribute_values
        group by segment_id, attribute_name, feature_name
    ) as in_segment
    inner join (
        select segment_id, attribute_name, count(*) as customers
        from attribute_values
        group by segment_id, attribute_name
    ) as segment_covered
        on in_segment.segment_id = segment_covered.segment_id
        and in_segment.attribute_name = segment_covered.attribute_name
    inner join (
        select feature_name, count(*) as customers
        from attribute_values
        group by feature_name
    ) as overall
        on in_segment.feature_name = overall.feature_name
    inner join (
        select attribute_name, count(*) as customers
        from attribute_values
        group by attribute_name
    ) as population_covered
        on in_segment.attribute_name = population_covered.attribute_name
),

customer_values as (
    {%- for feature in available %}
    select
        assignments.segment_id,
        '{{ feature }}' as feature_name,
        cast(features.{{ feature }} as {{ dbt.type_float() }}) as feature_value
    from assignments
    inner join features
        on assignments.customer_id = features.customer_id
    {% if not loop.last %}union all{% endif %}
    {%- else %}
    select
        cast(null as {{ dbt.type_bigint() }}) as segment_id,
        cast(null as {{ dbt.type_string() }}) as feature_name,
        cast(null as {{ dbt.type_float() }}) as feature_value
    where 1 = 0
    {%- endfor %}
),

population as (
    select
        feature_name,
        avg(feature_value) as population_mean,
        stddev_pop(feature_value) as population_std
    from customer_values
    group by feature_name
),

segment_stats as (
    select
        segment_id,
        feature_name,
        avg(feature_value) as segment_mean,
        percentile_cont(0.5) within group (order by feature_value) as segment_median
    from customer_values
    group by segment_id, feature_name
),

recomputed as (
    select
        segment_stats.segment_id,
        segment_stats.feature_name,
        segment_stats.segment_mean,
        segment_stats.segment_median,
        segment_stats.segment_mean / nullif(population.population_mean, 0) as lift,
        (segment_stats.segment_mean - population.population_mean)
            / nullif(population.population_std, 0) as z_score,
        rank() over (
            partition by segment_stats.feature_name
            order by segment_stats.segment_mean desc
        ) as segment_rank
    from segment_stats
    inner join population
        on segment_stats.feature_name = population.feature_name
),

checked as (
    select
        claims.*,
        case
            when claims.claim_source = 'engagement' and claims.statistic = 'lift'
                then engagement_recomputed.lift
            when claims.claim_source = 'attribute' and claims.statistic = 'lift'
                then attribute_recomputed.lift
            when claims.claim_source in ('engagement', 'attribute') then null
            when claims.statistic = 'mean' then recomputed.segment_mean
            when claims.statistic = 'median' then recomputed.segment_median
            when claims.statistic = 'lift' then recomputed.lift
            when claims.statistic = 'z_score' then recomputed.z_score
            when claims.statistic = 'segment_rank' then recomputed.segment_rank
        end as recomputed_value
    from claims
    left join recomputed
        on claims.segment_id = recomputed.segment_id
        and claims.feature_name = recomputed.feature_name
    left join engagement_recomputed
        on claims.segment_id = engagement_recomputed.segment_id
        and claims.feature_name = engagement_recomputed.feature_name
    left join attribute_recomputed
        on claims.segment_id = attribute_recomputed.segment_id
        and claims.feature_name = attribute_recomputed.feature_name
)

-- comparisons allow for float rounding between pandas and the warehouse (1e-9, relative)
select *
from checked
where
    recomputed_value is null
    or abs(recomputed_value - observed_value) > 1e-6 * (1 + abs(observed_value))
    or not (
        case comparison
            when '>=' then recomputed_value >= threshold - 1e-9 * (1 + abs(threshold))
            when '<=' then recomputed_value <= threshold + 1e-9 * (1 + abs(threshold))
            when '>' then recomputed_value > threshold - 1e-9 * (1 + abs(threshold))
            when '<' then recomputed_value < threshold + 1e-9 * (1 + abs(threshold))
            when '=' then abs(recomputed_value - threshold) <= 1e-9 * (1 + abs(threshold))
        end
    )

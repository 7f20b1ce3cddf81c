with

profiles as (
    select * from {{ ref('ml_segment_profiles') }}
),

segments as (
    select * from {{ ref('dim_segments') }}
),

claims as (
    select * from {{ ref('ml_segment_persona_claims') }}
),

described as (
    select distinct
        segment_id,
        feature_name
    from claims
    where claim_source = 'description'
),

final as (
    select
        cast(profiles.segment_id as {{ dbt.type_bigint() }}) as segment_id,
        cast(segments.segment_name as {{ dbt.type_string() }}) as segment_name,
        cast(profiles.feature_name as {{ dbt.type_string() }}) as feature_name,
        cast(profiles.feature_label as {{ dbt.type_string() }}) as feature_label,
        cast(profiles.feature_unit as {{ dbt.type_string() }}) as feature_unit,
        cast(profiles.feature_position as {{ dbt.type_bigint() }}) as feature_position,
        cast(profiles.customer_count as {{ dbt.type_bigint() }}) as customers_with_value,
        cast(profiles.segment_mean as {{ dbt.type_float() }}) as segment_mean,
        cast(profiles.segment_median as {{ dbt.type_float() }}) as segment_median,
        cast(profiles.population_mean as {{ dbt.type_float() }}) as population_mean,
        cast(profiles.population_median as {{ dbt.type_float() }}) as population_median,
        cast(profiles.population_std as {{ dbt.type_float() }}) as population_std,
        cast(profiles.lift as {{ dbt.type_float() }}) as lift,
        cast(profiles.z_score as {{ dbt.type_float() }}) as z_score,
        cast(profiles.segment_rank as {{ dbt.type_bigint() }}) as segment_rank,
        cast(profiles.distinctiveness_rank as {{ dbt.type_bigint() }}) as distinctiveness_rank,
        described.feature_name is not null as is_in_description
    from profiles
    inner join segments
        on profiles.segment_id = segments.segment_id
    left join described
        on profiles.segment_id = described.segment_id
        and profiles.feature_name = described.feature_name
)

select * from final

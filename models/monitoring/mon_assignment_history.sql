{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false) }}

with

assignments as (
    select * from {{ ref('ml_customer_assignments') }}
),

features as (
    select * from {{ ref('fct_customer_features') }}
),

runs as (
    select * from {{ ref('ml_registry_runs') }}
),

latest_run as (
    select
        run_id,
        as_of_date
    from runs
    where run_id = (select max(run_id) from runs)
),

final as (
    select
        latest_run.run_id,
        latest_run.as_of_date,
        assignments.customer_id,
        assignments.segment_id,
        assignments.model_version_id,
        features.monetary_amount
    from assignments
    cross join latest_run
    left join features
        on assignments.customer_id = features.customer_id
    {%- if is_incremental() %}
    where latest_run.run_id > (select coalesce(max(run_id), 0) from {{ this }})
    {%- endif %}
)

select * from final

with

runs as (
    select * from {{ ref('ml_registry_runs') }}
),

final as (
    select
        run_id,
        as_of_date,
        decision,
        is_training_run,
        model_version_id,
        incumbent_model_version_id,
        reason_codes,
        decision_reason,
        retrain_requested,
        n_customers,
        created_at,
        run_id = max(run_id) over () as is_latest_run
    from runs
)

select * from final

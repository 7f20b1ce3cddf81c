{#- Appended run by run (incremental); a full refresh recomputes every pair from
    mon_assignment_history. -#}
{{ config(materialized='incremental', incremental_strategy='append') }}

with

history as (
    select * from {{ ref('mon_assignment_history') }}
),

runs as (
    select distinct
        run_id,
        as_of_date
    from history
),

pairs as (
    select
        lag(run_id) over (order by run_id) as from_run_id,
        lag(as_of_date) over (order by run_id) as from_as_of_date,
        run_id as to_run_id,
        as_of_date as to_as_of_date
    from runs
),

new_pairs as (
    select * from pairs
    where from_run_id is not null
    {%- if is_incremental() %}
        and to_run_id > (select coalesce(max(to_run_id), 0) from {{ this }})
    {%- endif %}
),

moves as (
    select
        new_pairs.from_run_id,
        new_pairs.from_as_of_date,
        new_pairs.to_run_id,
        new_pairs.to_as_of_date,
        before.segment_id as from_segment_id,
        after.segment_id as to_segment_id,
        coalesce(after.monetary_amount, 0) as to_monetary_amount,
        coalesce(after.monetary_amount, 0) - coalesce(before.monetary_amount, 0)
            as period_monetary_amount
    from new_pairs
    inner join history as after
        on after.run_id = new_pairs.to_run_id
    left join history as before
        on before.run_id = new_pairs.from_run_id
        and before.customer_id = after.customer_id

    union all

    select
        new_pairs.from_run_id,
        new_pairs.from_as_of_date,
        new_pairs.to_run_id,
        new_pairs.to_as_of_date,
        before.segment_id as from_segment_id,
        cast(null as {{ dbt.type_bigint() }}) as to_segment_id,
        0 as to_monetary_amount,
        0 as period_monetary_amount
    from new_pairs
    inner join history as before
        on before.run_id = new_pairs.from_run_id
    where not exists (
        select 1 from history as after
        where after.run_id = new_pairs.to_run_id
            and after.customer_id = before.customer_id
    )
),

final as (
    select
        from_run_id,
        from_as_of_date,
        to_run_id,
        to_as_of_date,
        from_segment_id,
        to_segment_id,
        count(*) as customer_count,
        sum(to_monetary_amount) as revenue_amount,
        sum(period_monetary_amount) as period_revenue_amount,
        coalesce(from_segment_id = to_segment_id, false) as is_same_segment
    from moves
    group by
        from_run_id,
        from_as_of_date,
        to_run_id,
        to_as_of_date,
        from_segment_id,
        to_segment_id
)

select * from final

{#- Engagement as of the features' as-of date: events before it, orders as fct_customer_features
    counts them (kept orders, int_customer_order_stats). A customer without any event has null
    features (not covered), never zeros; a covered customer without, say, email sends has null
    email rates. Without any engagement event at all (the input is absent) the table is empty.
    Intermediate, so fct_customer_features can take the features in when the var
    engagement_feature_role is define; the mart is fct_customer_engagement. -#}
{{ config(materialized='table') }}

with

order_stats as (
    select * from {{ ref('int_customer_order_stats') }}
),

bounds as (
    select * from {{ ref('int_log_bounds') }}
),

features as (
    select
        order_stats.customer_id,
        bounds.as_of_date,
        order_stats.first_order_at,
        order_stats.frequency_orders
    from order_stats
    cross join bounds
    -- no engagement input, no rows (rather than every customer uncovered)
    where exists (select 1 from {{ ref('stg_shop__engagement_events') }})
),

events as (
    select * from {{ ref('stg_shop__engagement_events') }}
),

orders as (
    select * from {{ ref('int_orders_netted') }}
),

known_events as (
    select events.*
    from events
    inner join features
        on events.customer_id = features.customer_id
    where events.occurred_at < features.as_of_date
),

event_counts as (
    select
        customer_id,
        count(*) as event_count,
        {%- for kind, column in engagement_event_kinds().items() %}
        sum(case when event_kind = '{{ kind }}' then 1 else 0 end) as {{ column }},
        {%- endfor %}
        min(occurred_at) as first_event_at,
        max(case when event_kind = 'session' then occurred_at end) as last_visit_at
    from known_events
    group by customer_id
),

clicks as (
    select
        customer_id,
        occurred_at as clicked_at
    from known_events
    where event_kind = 'email_clicked'
),

orders_after_click as (
    select
        orders.customer_id,
        count(*) as orders_after_email_click
    from orders
    where
        orders.is_kept
        and exists (
            select 1
            from clicks
            where
                clicks.customer_id = orders.customer_id
                and clicks.clicked_at <= orders.ordered_at
                and clicks.clicked_at > {{ dbt.dateadd('day', -1 * var('email_attribution_days'), 'orders.ordered_at') }}
        )
    group by orders.customer_id
),

engaged as (
    select
        event_counts.customer_id,
        event_counts.event_count,
        {%- for column in engagement_event_kinds().values() %}
        event_counts.{{ column }},
        {%- endfor %}
        event_counts.last_visit_at,
        coalesce(orders_after_click.orders_after_email_click, 0) as orders_after_email_click,
        -- months the customer could engage: from the first order or event, at least one
        greatest(
            1.0,
            {{ dbt.datediff(
                'case when event_counts.first_event_at < features.first_order_at then event_counts.first_event_at else features.first_order_at end',
                'features.as_of_date', 'day') }} / 30.4375
        ) as months_observed
    from features
    inner join event_counts
        on features.customer_id = event_counts.customer_id
    left join orders_after_click
        on features.customer_id = orders_after_click.customer_id
),

final as (
    select
        features.customer_id,
        features.as_of_date,
        engaged.customer_id is not null as has_engagement_events,
        engaged.event_count,
        {%- for column in engagement_event_kinds().values() %}
        engaged.{{ column }},
        {%- endfor %}
        engaged.orders_after_email_click,
        engaged.last_visit_at,
        {{ dbt.datediff('engaged.last_visit_at', 'features.as_of_date', 'day') }} as days_since_last_visit,
        cast(engaged.session_count as {{ dbt.type_float() }}) / engaged.months_observed
            as sessions_per_month,
        cast(engaged.view_count as {{ dbt.type_float() }}) / features.frequency_orders
            as views_per_order,
        case
            when engaged.cart_count > 0
                then cast(features.frequency_orders as {{ dbt.type_float() }}) / engaged.cart_count
        end as cart_to_order_rate,
        case
            when engaged.email_sent_count > 0
                then cast(engaged.email_opened_count as {{ dbt.type_float() }}) / engaged.email_sent_count
        end as email_open_rate,
        case
            when engaged.email_sent_count > 0
                then cast(engaged.email_clicked_count as {{ dbt.type_float() }}) / engaged.email_sent_count
        end as email_click_rate,
        case
            when engaged.email_sent_count > 0
                then cast(engaged.orders_after_email_click as {{ dbt.type_float() }}) / features.frequency_orders
        end as orders_after_email_click_share
    from features
    left join engaged
        on features.customer_id = engaged.customer_id
)

select * from final

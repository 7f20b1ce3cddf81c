{#- Monthly cohort retention as the classic triangle: one row per cohort (month of first kept
    order), one column per month since that first order, from the BI model rpt_cohort_retention.
    Cells after the end of the log are null. -#}
{%- set max_months_shown = 24 -%}
with

cohort_retention as (
    select * from {{ ref('rpt_cohort_retention') }}
),

final as (
    select
        cohort_month_date,
        max(cohort_customer_count) as cohort_customer_count,
        max(case when is_partial_month then months_since_first_order end)
            as partial_month_offset,
        {%- for offset in range(max_months_shown + 1) %}
        max(case when months_since_first_order = {{ offset }} then retention_rate end)
            as month_{{ offset }}_retention,
        {%- endfor %}
        max(cumulative_net_amount_per_customer) as net_amount_per_customer_to_date
    from cohort_retention
    group by cohort_month_date
)

select * from final
order by cohort_month_date

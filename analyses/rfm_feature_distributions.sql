{#- Distribution of each customer feature of fct_customer_features (the clustering input): one
    row per feature with its mean, spread, quantiles and share of zeros. A mean far above the
    median (mean_to_median_ratio well over 1) marks a right-skewed feature that needs a log
    transform or clipping before distance-based clustering. Features: macro eda_feature_columns. -#}
{%- set features = eda_feature_columns() -%}
{%- set quantiles = eda_quantiles() -%}
with

customer_features as (
    select * from {{ ref('fct_customer_features') }}
),

summaries as (
    {%- for feature in features %}
    select
        {{ loop.index }} as feature_order,
        '{{ feature }}' as feature,
        count({{ feature }}) as customer_count,
        count(*) - count({{ feature }}) as null_count,
        avg(case when {{ feature }} = 0 then 1.0 when {{ feature }} is not null then 0.0 end)
            as zero_share,
        avg({{ feature }}) as mean_value,
        stddev_samp({{ feature }}) as stddev_value,
        min({{ feature }}) as min_value,
        {%- for name, q in quantiles %}
        percentile_cont({{ q }}) within group (order by {{ feature }}) as {{ name }}_value,
        {%- endfor %}
        max({{ feature }}) as max_value
    from customer_features
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

final as (
    select
        summaries.*,
        mean_value / nullif(median_value, 0) as mean_to_median_ratio
    from summaries
)

select * from final
order by feature_order

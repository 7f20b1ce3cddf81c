{#- Correlation of every pair of customer features of fct_customer_features: Pearson on the raw
    values and Spearman (Pearson on average ranks). Spearman is unchanged by log transforms and
    robust to outliers, so it is closer to what clustering sees after preparation. Pairs with a
    high |correlation| carry the same information twice. Features: macro eda_feature_columns.
    Ranks are taken over every customer with a value, so for pairs with
    mean_days_between_orders (null for one-order customers) Spearman is a close approximation. -#}
{%- set features = eda_feature_columns() -%}
{%- set pairs = [] -%}
{%- for i in range(features | length) -%}
    {%- for j in range(i + 1, features | length) -%}
        {%- do pairs.append((features[i], features[j])) -%}
    {%- endfor -%}
{%- endfor -%}
with

customer_features as (
    select * from {{ ref('fct_customer_features') }}
),

-- average rank of each value (ties share the mean of their ranks); null stays null
ranked as (
    select
        {%- for feature in features %}
        {{ feature }},
        case
            when {{ feature }} is not null
                then rank() over (
                    partition by case when {{ feature }} is null then 1 else 0 end
                    order by {{ feature }}
                )
                + (count(*) over (partition by {{ feature }}) - 1) / 2.0
        end as {{ feature }}_rank{{ "," if not loop.last }}
        {%- endfor %}
    from customer_features
),

pairs as (
    {%- for feature_a, feature_b in pairs %}
    select
        {{ loop.index }} as pair_order,
        '{{ feature_a }}' as feature_a,
        '{{ feature_b }}' as feature_b,
        count({{ feature_a }} + {{ feature_b }}) as customer_count,
        corr({{ feature_a }}, {{ feature_b }}) as pearson_correlation,
        corr({{ feature_a }}_rank, {{ feature_b }}_rank) as spearman_correlation
    from ranked
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

final as (
    select
        pairs.*,
        abs(spearman_correlation) as abs_spearman_correlation
    from pairs
)

select * from final
order by abs_spearman_correlation desc nulls last, pair_order

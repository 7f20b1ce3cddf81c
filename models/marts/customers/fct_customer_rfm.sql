{#- Scores come from percent rank, not from equal-sized tiles, so customers with equal values
    always share a score (many customers have exactly one order). -#}
{%- set bins = var('rfm_score_bins') | int -%}
{%- if bins < 2 or bins > 9 -%}
    {{ exceptions.raise_compiler_error("var 'rfm_score_bins' must be a whole number from 2 to 9; got " ~ var('rfm_score_bins')) }}
{%- endif -%}
with

features as (
    select * from {{ ref('fct_customer_features') }}
),

grid as (
    select * from {{ ref('rfm_segment_grid') }}
),

ranked as (
    select
        customer_id,
        recency_days,
        frequency_orders,
        monetary_amount,
        percent_rank() over (order by recency_days desc) as recency_rank,
        percent_rank() over (order by frequency_orders) as frequency_rank,
        percent_rank() over (order by monetary_amount) as monetary_rank
    from features
),

scored as (
    select
        customer_id,
        recency_days,
        frequency_orders,
        monetary_amount,
        {%- for axis in ['recency', 'frequency', 'monetary'] %}
        cast(
            case
                when {{ axis }}_rank >= 1 then {{ bins }}
                else floor({{ axis }}_rank * {{ bins }}) + 1
            end as {{ dbt.type_int() }}
        ) as {{ axis }}_score{{ "," if not loop.last }}
        {%- endfor %}
    from ranked
),

-- the named grid has 5 levels per axis: rescale, then combine frequency and monetary
grid_scored as (
    select
        scored.*,
        cast(ceiling(recency_score * 5.0 / {{ bins }}) as {{ dbt.type_int() }}) as grid_recency_score,
        cast(
            ceiling(ceiling((frequency_score + monetary_score) / 2.0) * 5.0 / {{ bins }})
            as {{ dbt.type_int() }}
        ) as grid_frequency_monetary_score
    from scored
),

final as (
    select
        grid_scored.customer_id,
        grid_scored.recency_score,
        grid_scored.frequency_score,
        grid_scored.monetary_score,
        {{ dbt.concat([
            dbt.safe_cast('grid_scored.recency_score', api.Column.translate_type('string')),
            dbt.safe_cast('grid_scored.frequency_score', api.Column.translate_type('string')),
            dbt.safe_cast('grid_scored.monetary_score', api.Column.translate_type('string')),
        ]) }} as rfm_cell,
        grid_scored.grid_frequency_monetary_score as frequency_monetary_score,
        grid.rfm_segment_name,
        grid.rfm_segment_description
    from grid_scored
    inner join grid
        on grid_scored.grid_recency_score = grid.recency_score
        and grid_scored.grid_frequency_monetary_score = grid.frequency_monetary_score
)

select * from final

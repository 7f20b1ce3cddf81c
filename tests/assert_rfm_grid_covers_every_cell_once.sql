-- The named RFM grid maps each of the 5 × 5 (recency score, frequency-monetary score) cells
-- to exactly one segment name: no cell missing, none twice, nothing outside the grid.
with

levels as (
    {%- for level in range(1, 6) %}
    select {{ level }} as score{{ " union all" if not loop.last }}
    {%- endfor %}
),

cells as (
    select recency.score as recency_score, frequency_monetary.score as frequency_monetary_score
    from levels as recency
    cross join levels as frequency_monetary
),

grid as (
    select recency_score, frequency_monetary_score, count(*) as names
    from {{ ref('rfm_segment_grid') }}
    group by recency_score, frequency_monetary_score
)

select
    coalesce(cells.recency_score, grid.recency_score) as recency_score,
    coalesce(cells.frequency_monetary_score, grid.frequency_monetary_score) as frequency_monetary_score,
    coalesce(grid.names, 0) as names
from cells
full outer join grid
    on cells.recency_score = grid.recency_score
    and cells.frequency_monetary_score = grid.frequency_monetary_score
where grid.names is null or cells.recency_score is null or grid.names <> 1

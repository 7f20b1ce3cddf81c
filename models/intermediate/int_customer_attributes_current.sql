{#- The value of each customer attribute that holds at the as-of date: the latest stated on or
    before it (an undated value counts as known), later loads breaking ties. Numeric attributes
    with few distinct values keep their values as categories; others are cut into quartiles, so
    every attribute is profiled as shares of categories. -#}
{{ config(materialized='table') }}

with

attributes as (
    select * from {{ ref('stg_shop__customer_attributes') }}
),

bounds as (
    select * from {{ ref('int_log_bounds') }}
),

ranked as (
    select
        attributes.*,
        row_number() over (
            partition by attributes.customer_id, attributes.attribute_name
            order by
                attributes.as_of_date desc nulls last,
                attributes.loaded_at desc nulls last,
                attributes.source_file desc,
                attributes.source_row desc
        ) as recency_rank
    from attributes
    cross join bounds
    where attributes.as_of_date is null or attributes.as_of_date < bounds.as_of_date
),

current_values as (
    select * from ranked where recency_rank = 1
),

attribute_kinds as (
    select
        attribute_name,
        case
            when min(case when attribute_type = 'numeric' and attribute_number is not null then 1 else 0 end) = 1
                then 'numeric'
            else 'categorical'
        end as attribute_type,
        count(distinct attribute_value) as distinct_values
    from current_values
    group by attribute_name
),

banded as (
    select
        current_values.customer_id,
        current_values.attribute_name,
        attribute_kinds.attribute_type,
        current_values.attribute_value,
        case when attribute_kinds.attribute_type = 'numeric' then current_values.attribute_number end
            as attribute_number,
        attribute_kinds.distinct_values,
        ntile(4) over (
            partition by current_values.attribute_name
            order by current_values.attribute_number
        ) as quartile,
        current_values.as_of_date,
        current_values.source_file,
        current_values.source_row
    from current_values
    inner join attribute_kinds
        on current_values.attribute_name = attribute_kinds.attribute_name
),

final as (
    select
        customer_id,
        attribute_name,
        attribute_type,
        attribute_value,
        attribute_number,
        case
            when attribute_type = 'numeric' and distinct_values > {{ var('attribute_max_numeric_categories') }}
                then 'quartile ' || cast(quartile as {{ dbt.type_string() }})
            else attribute_value
        end as attribute_category,
        as_of_date,
        source_file,
        source_row
    from banded
)

select * from final

{#- The mix of every customer attribute per segment: the share of each category among the
    segment's customers with a value, against the same share among all segmented customers
    with a value (lift), and the coverage of both. Categories a segment lacks have a zero share.
    No attributes loaded: no rows. -#}
with

assignments as (
    select * from {{ ref('ml_customer_assignments') }}
),

attributes as (
    select * from {{ ref('int_customer_attributes_current') }}
),

segment_sizes as (
    select
        segment_id,
        count(*) as segment_customers
    from assignments
    group by segment_id
),

population_size as (
    select count(*) as population_customers from assignments
),

covered as (
    select
        assignments.segment_id,
        attributes.attribute_name,
        attributes.attribute_type,
        attributes.attribute_category
    from assignments
    inner join attributes
        on assignments.customer_id = attributes.customer_id
),

segment_covered as (
    select
        segment_id,
        attribute_name,
        count(*) as customers_with_attribute
    from covered
    group by segment_id, attribute_name
),

population_covered as (
    select
        attribute_name,
        count(*) as population_with_attribute
    from covered
    group by attribute_name
),

segment_categories as (
    select
        segment_id,
        attribute_name,
        attribute_category,
        count(*) as category_customers
    from covered
    group by segment_id, attribute_name, attribute_category
),

population_categories as (
    select
        attribute_name,
        attribute_type,
        attribute_category,
        count(*) as population_category_customers
    from covered
    group by attribute_name, attribute_type, attribute_category
),

cells as (
    select
        segment_sizes.segment_id,
        segment_sizes.segment_customers,
        population_categories.attribute_name,
        population_categories.attribute_type,
        population_categories.attribute_category,
        population_categories.population_category_customers,
        coalesce(segment_categories.category_customers, 0) as category_customers,
        coalesce(segment_covered.customers_with_attribute, 0) as customers_with_attribute
    from segment_sizes
    cross join population_categories
    left join segment_categories
        on segment_sizes.segment_id = segment_categories.segment_id
        and population_categories.attribute_name = segment_categories.attribute_name
        and population_categories.attribute_category = segment_categories.attribute_category
    left join segment_covered
        on segment_sizes.segment_id = segment_covered.segment_id
        and population_categories.attribute_name = segment_covered.attribute_name
),

final as (
    select
        cast(cells.segment_id as {{ dbt.type_bigint() }}) as segment_id,
        cast(cells.attribute_name as {{ dbt.type_string() }}) as attribute_name,
        cast(cells.attribute_type as {{ dbt.type_string() }}) as attribute_type,
        cast(cells.attribute_category as {{ dbt.type_string() }}) as attribute_category,
        cast(cells.segment_customers as {{ dbt.type_bigint() }}) as segment_customers,
        cast(cells.customers_with_attribute as {{ dbt.type_bigint() }}) as customers_with_attribute,
        cast(cells.category_customers as {{ dbt.type_bigint() }}) as category_customers,
        cast(cells.customers_with_attribute as {{ dbt.type_float() }})
            / cells.segment_customers as coverage,
        cast(population_covered.population_with_attribute as {{ dbt.type_float() }})
            / population_size.population_customers as population_coverage,
        case
            when cells.customers_with_attribute > 0
                then cast(cells.category_customers as {{ dbt.type_float() }})
                    / cells.customers_with_attribute
        end as category_share,
        cast(cells.population_category_customers as {{ dbt.type_float() }})
            / population_covered.population_with_attribute as population_share,
        case
            when cells.customers_with_attribute > 0
                then (cast(cells.category_customers as {{ dbt.type_float() }})
                    / cells.customers_with_attribute)
                    / (cast(cells.population_category_customers as {{ dbt.type_float() }})
                    / population_covered.population_with_attribute)
        end as lift
    from cells
    inner join population_covered
        on cells.attribute_name = population_covered.attribute_name
    cross join population_size
)

select * from final

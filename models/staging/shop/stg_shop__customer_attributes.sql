with

source as (
    select * from {{ source('shop', 'customer_attributes') }}
),

final as (
    select
        trim(customer_id) as customer_id,
        lower(trim(attribute_name)) as attribute_name,
        trim(attribute_value) as attribute_value,
        coalesce(lower(trim(attribute_type)), 'categorical') as attribute_type,
        -- the loader lets a value be numeric only when it reads as a number
        case
            when lower(trim(attribute_type)) = 'numeric'
                then cast(trim(attribute_value) as {{ dbt.type_float() }})
        end as attribute_number,
        cast(as_of_date as date) as as_of_date,
        loaded_at,
        source_file,
        source_row
    from source
    where attribute_value is not null
)

select * from final

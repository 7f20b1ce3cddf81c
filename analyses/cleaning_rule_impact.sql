{#- The share of loaded lines each cleaning rule removes on the way from the raw log to the
    sale lines that customer features are built from (int_sale_lines_netted). Rules are applied
    in the order listed: `removed_*` counts the lines a rule removes after the earlier ones
    (each line is counted once, so removed shares plus the kept share add up to 1), while
    `flagged_*` counts every line the rule matches regardless of order (rules overlap: most
    cancellation lines also carry a customer id, most zero-price lines have none). Cancellation
    lines are not lost: they are netted against the purchases they reverse. -#}
{%- set rules = [
    ('exact_duplicate', 'is_duplicate', 'Second or later copy of an identical line (the first copy stays).'),
    ('no_customer', 'not has_customer', 'No customer id: guest or unattributed line; counts in booked revenue, never in customer features.'),
    ('on_or_after_as_of_date', 'invoiced_at >= as_of_date', 'Invoiced on or after the as-of date of the features.'),
    ('bad_debt_adjustment', "line_type = 'bad_debt_adjustment'", 'Bad-debt adjustment (`A` invoice): accounting, not customer activity.'),
    ('stock_adjustment', "line_type = 'stock_adjustment'", 'Negative quantity on an ordinary invoice: stock write-off, not customer activity.'),
    ('cancellation', "line_type = 'cancellation'", 'Cancellation or return (`C` invoice): netted against the purchases it reverses, not a sale itself.'),
    ('non_product_code', 'is_non_product', 'Postage, fees, manual lines, discounts, gift vouchers (seed non_product_stock_codes).'),
    ('zero_price', 'is_zero_price', 'Unit price 0: free items and corrections, not a sale.'),
    ('negative_price', 'is_negative_price', 'Unit price below 0: accounting entries, not a sale.'),
    ('zero_quantity', 'quantity = 0', 'No units on the line.'),
] -%}
with

lines as (
    select * from {{ ref('stg_shop__transactions') }}
),

bounds as (
    select * from {{ ref('int_log_bounds') }}
),

classified as (
    select
        lines.line_amount,
        {%- for rule_name, condition, _ in rules %}
        {{ condition }} as is_{{ rule_name }},
        {%- endfor %}
        case
            {%- for rule_name, condition, _ in rules %}
            when {{ condition }} then {{ loop.index }}
            {%- endfor %}
            else {{ rules | length + 1 }}
        end as first_rule_order
    from lines
    cross join bounds
),

totals as (
    select
        count(*) as all_row_count
    from classified
),

per_rule as (
    {%- for rule_name, condition, description in rules %}
    select
        {{ loop.index }} as rule_order,
        '{{ rule_name }}' as rule_name,
        '{{ description | replace("'", "''") }}' as rule_description,
        count(case when is_{{ rule_name }} then 1 end) as flagged_row_count,
        count(case when first_rule_order = {{ loop.index }} then 1 end) as removed_row_count,
        sum(case when first_rule_order = {{ loop.index }} then line_amount else 0 end)
            as removed_line_amount,
        count(case when first_rule_order > {{ loop.index }} then 1 end) as remaining_row_count
    from classified
    union all
    {%- endfor %}
    select
        {{ rules | length + 1 }} as rule_order,
        'kept' as rule_name,
        'Passes every rule: a product sale line of a known customer (a row of int_sale_lines_netted).'
            as rule_description,
        count(case when first_rule_order = {{ rules | length + 1 }} then 1 end)
            as flagged_row_count,
        cast(null as {{ dbt.type_bigint() }}) as removed_row_count,
        cast(null as {{ dbt.type_float() }}) as removed_line_amount,
        count(case when first_rule_order = {{ rules | length + 1 }} then 1 end)
            as remaining_row_count
    from classified
),

final as (
    select
        per_rule.rule_order,
        per_rule.rule_name,
        per_rule.rule_description,
        per_rule.flagged_row_count,
        cast(per_rule.flagged_row_count as {{ dbt.type_float() }})
            / totals.all_row_count as flagged_row_share,
        per_rule.removed_row_count,
        cast(per_rule.removed_row_count as {{ dbt.type_float() }})
            / totals.all_row_count as removed_row_share,
        per_rule.removed_line_amount,
        per_rule.remaining_row_count,
        cast(per_rule.remaining_row_count as {{ dbt.type_float() }})
            / totals.all_row_count as remaining_row_share,
        totals.all_row_count
    from per_rule
    cross join totals
)

select * from final
order by rule_order

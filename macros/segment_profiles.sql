{% macro segment_profile_features() -%}
    {#- The customer features profiled per segment, in the order of PROFILE_FEATURES in
        python_jobs/src/segmentation/describe/profiles.py (a pytest keeps both lists equal), each
        with the stem of its dim_segments columns: mean_<stem>, median_<stem>, <stem>_lift. -#}
    {{ return([
        {'feature': 'recency_days', 'stem': 'recency_days'},
        {'feature': 'frequency_orders', 'stem': 'frequency_orders'},
        {'feature': 'monetary_amount', 'stem': 'monetary_amount'},
        {'feature': 'tenure_days', 'stem': 'tenure_days'},
        {'feature': 'avg_order_value', 'stem': 'avg_order_value'},
        {'feature': 'avg_items_per_order', 'stem': 'avg_items_per_order'},
        {'feature': 'avg_unit_price', 'stem': 'avg_unit_price'},
        {'feature': 'distinct_products', 'stem': 'distinct_products'},
        {'feature': 'cancellation_rate', 'stem': 'cancellation_rate'},
        {'feature': 'mean_days_between_orders', 'stem': 'days_between_orders'},
        {'feature': 'weekend_order_share', 'stem': 'weekend_order_share'},
        {'feature': 'evening_order_share', 'stem': 'evening_order_share'},
        {'feature': 'active_months', 'stem': 'active_months'},
        {'feature': 'country_count', 'stem': 'country_count'},
        {'feature': 'q4_revenue_share', 'stem': 'q4_revenue_share'},
    ]) }}
{%- endmacro %}

{% macro engagement_event_kinds() -%}
    {#- Event kinds counted per customer in fct_customer_engagement, each with its count column
        (python_jobs/src/segmentation/io/contract.py ENGAGEMENT_KINDS, plus other). -#}
    {{ return({
        'session': 'session_count',
        'view': 'view_count',
        'cart': 'cart_count',
        'email_sent': 'email_sent_count',
        'email_opened': 'email_opened_count',
        'email_clicked': 'email_clicked_count',
        'other': 'other_event_count',
    }) }}
{%- endmacro %}

{% macro engagement_profile_features() -%}
    {#- The engagement features profiled per segment (fct_segment_engagement_profiles), in the
        order of ENGAGEMENT_FEATURES in python_jobs/src/segmentation/describe/engagement.py. -#}
    {{ return([
        'days_since_last_visit',
        'sessions_per_month',
        'views_per_order',
        'cart_to_order_rate',
        'email_open_rate',
        'email_click_rate',
        'orders_after_email_click_share',
    ]) }}
{%- endmacro %}

{% macro engagement_defines_segments() -%}
    {#- True when the var engagement_feature_role is `define`: fct_customer_features then carries
        the engagement features, so segmentation.features may list them. Default `describe`. -#}
    {%- set role = var('engagement_feature_role', 'describe') | string | trim -%}
    {%- if role not in ('describe', 'define') -%}
        {{ exceptions.raise_compiler_error("var 'engagement_feature_role' must be describe or define; got '" ~ role ~ "'") }}
    {%- endif -%}
    {{ return(role == 'define') }}
{%- endmacro %}

{% macro segment_engagement_values(assignments, engagement, with_position=false) -%}
    {#- The engagement features of every segmented customer in long form (segment_id,
        feature_name[, feature_position], feature_value): one select per feature of
        engagement_profile_features() over the relations or CTEs `assignments` and
        `engagement`, unioned. -#}
    {%- for feature in engagement_profile_features() %}
    select
        {{ assignments }}.segment_id,
        '{{ feature }}' as feature_name,
        {%- if with_position %}
        {{ loop.index }} as feature_position,
        {%- endif %}
        cast({{ engagement }}.{{ feature }} as {{ dbt.type_float() }}) as feature_value
    from {{ assignments }}
    inner join {{ engagement }}
        on {{ assignments }}.customer_id = {{ engagement }}.customer_id
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{% macro defining_attributes() -%}
    {#- The attribute names of the var segmentation.categorical_attributes (name -> weight; the
        package checks names and weights), sorted; empty when attributes only describe. -#}
    {%- set settings = var('segmentation', {}) -%}
    {%- if settings is string -%}
        {%- set settings = fromjson(settings) if settings | trim else {} -%}
    {%- endif -%}
    {%- set chosen = (settings or {}).get('categorical_attributes') or {} -%}
    {%- for name in chosen -%}
        {%- if not modules.re.fullmatch('[a-z][a-z0-9_]{0,39}', name | string) -%}
            {{ exceptions.raise_compiler_error("segmentation.categorical_attributes names '" ~ name ~ "': an attribute name is lower-case letters, digits and underscores, starting with a letter, at most 40 characters (its category columns are attribute_<name>__<category>, within 63)") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(chosen | list | sort) }}
{%- endmacro %}

{% macro defining_attribute_filter(column) -%}
    {#- `column` in (the names of defining_attributes()): the rows of the attributes that define
        segments. Only called when there is one. -#}
    {{ column }} in ({% for name in defining_attributes() %}'{{ name }}'{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}

{% macro attribute_indicator_columns(attributes_relation) -%}
    {#- One entry {attribute, category, column} per category of each defining attribute, read
        from `attributes_relation` (int_customer_attributes_current) when the model runs; the
        column is attribute_<name>__<category as a plain name>, at most 63 characters and unique
        (python_jobs/src/segmentation/config/segmentation.py indicator_prefix names the same
        start). Empty while parsing or when no attribute defines. -#}
    {%- set names = defining_attributes() -%}
    {%- set columns = [] -%}
    {%- if execute and names -%}
        {%- set query -%}
            select attribute_name, attribute_category
            from {{ attributes_relation }}
            where {{ defining_attribute_filter('attribute_name') }}
                and attribute_category is not null
            group by attribute_name, attribute_category
            order by attribute_name, attribute_category
        {%- endset -%}
        {%- set rows = run_query(query).rows -%}
        {%- set taken = [] -%}
        {%- for name in names -%}
            {%- set categories = [] -%}
            {%- for row in rows if row[0] == name -%}
                {%- do categories.append(row[1]) -%}
            {%- endfor -%}
            {%- if categories | length > 20 -%}
                {{ exceptions.raise_compiler_error("customer attribute " ~ name ~ " has " ~ (categories | length) ~ " categories; at most 20 can define segments (group them in the attribute file, or take " ~ name ~ " out of segmentation.categorical_attributes)") }}
            {%- endif -%}
            {%- for category in categories -%}
                {%- set prefix = 'attribute_' ~ name ~ '__' -%}
                {%- set stem = modules.re.sub('[^a-z0-9]+', '_', category | string | lower).strip('_') or 'value' -%}
                {%- set column = (prefix ~ stem)[:60] -%}
                {%- if column in taken -%}
                    {%- set column = column[:57] ~ '_' ~ loop.index -%}
                {%- endif -%}
                {%- do taken.append(column) -%}
                {%- do columns.append({'attribute': name, 'category': category | string, 'column': column}) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(columns) }}
{%- endmacro %}

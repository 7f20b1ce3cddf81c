{#- Portable SQL that scores every row of `features` with the kept model: each used feature is
    prepared by its stored sql_expression (impute, clip, ln(1 + x), scale; read from `params`
    when the model runs), then the customer goes to the nearest representative of
    `representatives` (Euclidean over the model inputs; ties to the lower segment id). Returns
    the columns of ml_customer_assignments. python_jobs/src/segmentation/engine/scoring.py does the
    same in Python; a test keeps both in step. -#}
{% macro kept_model_scoring(features, params, representatives, model) -%}
{%- set used = [] -%}
{%- if execute and adapter.get_relation(database=params.database, schema=params.schema, identifier=params.identifier) is not none -%}
    {%- set query -%}
        select feature_name, sql_expression, imputation_rule, imputation_column,
            imputation_value, clip_lower, clip_upper
        from {{ params }}
        where is_used
        order by feature_position
    {%- endset -%}
    {%- for row in run_query(query).rows -%}
        {%- if not modules.re.fullmatch('[a-z_][a-z0-9_]*', row['feature_name']) -%}
            {{ exceptions.raise_compiler_error("kept model feature name " ~ row['feature_name'] ~ " is not a plain column name") }}
        {%- endif -%}
        {%- if row['sql_expression'] is none -%}
            {{ exceptions.raise_compiler_error("kept model feature " ~ row['feature_name'] ~ " has no sql_expression (not SQL-scorable)") }}
        {%- endif -%}
        {%- do used.append(row) -%}
    {%- endfor -%}
{%- endif -%}
{%- if used | length == 0 %}
{#- no model (nothing to score, or parsing): an empty result with the right types #}
select
    cast(null as {{ dbt.type_string() }}) as customer_id,
    cast(null as {{ dbt.type_bigint() }}) as segment_id,
    cast(null as {{ dbt.type_string() }}) as model_version_id,
    cast(null as date) as as_of_date,
    cast(null as {{ dbt.type_float() }}) as distance_to_representative,
    cast(null as {{ dbt.type_string() }}) as assignment_method,
    cast(null as {{ dbt.type_boolean() }}) as is_in_fit_sample,
    cast(null as {{ dbt.type_boolean() }}) as is_noise,
    cast(null as {{ dbt.type_bigint() }}) as outlier_feature_count,
    cast(null as {{ dbt.type_boolean() }}) as is_outlier
where 1 = 0
{%- else %}
with

features as (
    select * from {{ features }}
),

kept_model as (
    select * from {{ model }}
),

representatives as (
    select
        segment_id,
        {%- for row in used %}
        max(case when feature_name = '{{ row["feature_name"] }}' then value_scaled end)
            as {{ row['feature_name'] }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ representatives }}
    where is_model_input
    group by segment_id
),

prepared as (
    select
        customer_id,
        as_of_date,
        first_order_at,
        {%- for row in used %}
        {{ row['sql_expression'] }} as {{ row['feature_name'] }},
        {%- endfor %}
        {%- for row in used %}
        {%- set name = row['feature_name'] %}
        {%- if row['imputation_rule'] == 'column' %}
            {%- set filled = 'coalesce(' ~ name ~ ', ' ~ row['imputation_column'] ~ ')' %}
        {%- elif row['imputation_rule'] == 'constant' %}
            {%- set filled = 'coalesce(' ~ name ~ ', ' ~ row['imputation_value'] ~ ')' %}
        {%- else %}
            {%- set filled = name %}
        {%- endif %}
        {%- if row['clip_lower'] is none %}
        0{{ " +" if not loop.last }}
        {%- else %}
        case when {{ filled }} < {{ row['clip_lower'] }} or {{ filled }} > {{ row['clip_upper'] }} then 1 else 0 end{{ " +" if not loop.last }}
        {%- endif %}
        {%- endfor %}
            as outlier_feature_count
    from features
),

distances as (
    select
        prepared.customer_id,
        representatives.segment_id,
        sqrt(
            {%- for row in used %}
            ({{ 'prepared.' ~ row['feature_name'] }} - {{ 'representatives.' ~ row['feature_name'] }})
                * ({{ 'prepared.' ~ row['feature_name'] }} - {{ 'representatives.' ~ row['feature_name'] }}){{ " +" if not loop.last }}
            {%- endfor %}
        ) as distance
    from prepared
    cross join representatives
),

ranked as (
    select
        customer_id,
        segment_id,
        distance,
        row_number() over (partition by customer_id order by distance, segment_id) as nearness
    from distances
),

final as (
    select
        prepared.customer_id,
        ranked.segment_id,
        kept_model.model_version_id,
        prepared.as_of_date,
        ranked.distance as distance_to_representative,
        'nearest_representative' as assignment_method,
        (
            kept_model.fit_sample_size = kept_model.n_customers
            and prepared.first_order_at < kept_model.as_of_date
        ) as is_in_fit_sample,
        false as is_noise,
        prepared.outlier_feature_count,
        prepared.outlier_feature_count > 0 as is_outlier
    from prepared
    inner join ranked
        on prepared.customer_id = ranked.customer_id
        and ranked.nearness = 1
    cross join kept_model
)

select * from final
{%- endif %}
{%- endmacro %}

{#- Post-hook of Python incremental models: drop `<model>__dbt_tmp…` tables left in the default
    schema. On DuckDB an incremental Python model stages its new rows in such a table and does
    not drop it (and a killed build leaves one behind too); other adapters have none, and not
    every one has the information_schema the search reads (Spark has not). -#}
{% macro drop_leftover_temp_tables(relation) -%}
    {{ return(adapter.dispatch('drop_leftover_temp_tables', 'customer_segments')(relation)) }}
{%- endmacro %}

{% macro default__drop_leftover_temp_tables(relation) -%}
{%- endmacro %}

{% macro duckdb__drop_leftover_temp_tables(relation) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set query -%}
        select table_name from information_schema.tables
        where table_catalog = '{{ relation.database }}'
            and table_schema = '{{ target.schema }}'
            and table_name like '{{ relation.identifier }}\_\_dbt\_tmp%' escape '\'
    {%- endset -%}
    {%- for row in run_query(query).rows -%}
        {%- do adapter.drop_relation(api.Relation.create(
            database=relation.database, schema=target.schema, identifier=row[0], type='table')) -%}
    {%- endfor -%}
{%- endmacro %}

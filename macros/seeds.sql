{#- Loading seeds on Spark. dbt-spark's own version passes each value as a bound parameter, and
    its `session` method pastes those into the SQL unescaped and unquoted by type: a quote (the
    RFM grid's "Can't Lose Them") breaks the statement and an empty cell becomes the text
    'None'. This one writes each value as a literal of its own kind, so every cell arrives as
    the CSV has it. Found first through the project's dispatch search order. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for column_name in agate_table.column_names -%}
        {%- do types.append(column_override.get(column_name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {%- for row in chunk %}
            (
                {%- for value in row -%}
                    cast({{ seed_literal(value) }} as {{ types[loop.index0] }}){{ ", " if not loop.last }}
                {%- endfor -%}
            ){{ "," if not loop.last }}
            {%- endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- do statements.append(sql) -%}
    {%- endfor -%}
    {#- the SQL of the first batch, for the compiled files -#}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}

{% macro seed_literal(value) -%}
    {#- One CSV cell as a Spark SQL literal: NULL, a boolean, a number, or quoted text (Spark
        reads backslash escapes in text literals). -#}
    {%- if value is none -%}
        null
    {%- elif value is boolean -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        {{ value }}
    {%- else -%}
        '{{ value | string | replace('\\', '\\\\') | replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}

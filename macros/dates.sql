{#- Date helpers that are not among dbt's cross-database macros. Warehouse-specific ones
    dispatch, so an adapter can override them with `<adapter>__<name>`. -#}

{% macro as_of_date_setting() -%}
    {#- The as-of date as written: the var `as_of_date`, or when it is empty the environment
        variable SEGMENTS_AS_OF_DATE (a scheduler that moves the date run by run through the
        environment keeps dbt's partial parsing, which a changed var turns off for the whole
        project); '' when neither is set. -#}
    {%- set value = var('as_of_date', '') | string | trim -%}
    {%- if value == '' or value == 'None' -%}
        {%- set value = env_var('SEGMENTS_AS_OF_DATE', '') | string | trim -%}
    {%- endif -%}
    {{ return('' if value == 'None' else value) }}
{%- endmacro %}

{% macro as_of_date(when_unset) -%}
    {#- The as-of date of the features as a SQL date expression (as_of_date_setting), or the
        expression `when_unset` when it is not set. The value is validated here: only
        YYYY-MM-DD is accepted, so no setting reaches the SQL unchecked. -#}
    {%- set value = as_of_date_setting() -%}
    {%- if value == '' -%}
        {{ return(when_unset) }}
    {%- endif -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', value) -%}
        {{ exceptions.raise_compiler_error("the as-of date (var 'as_of_date', or SEGMENTS_AS_OF_DATE) must be a date written YYYY-MM-DD (or empty for the day after the last invoice); got '" ~ value ~ "'") }}
    {%- endif -%}
    {#- strptime rejects impossible dates such as 2026-02-30 -#}
    {%- set parsed = modules.datetime.datetime.strptime(value, '%Y-%m-%d') -%}
    {{ return("cast('" ~ value ~ "' as date)") }}
{%- endmacro %}

{% macro day_of_week(timestamp_expression) -%}
    {#- Day of the week of a timestamp, 0 = Sunday … 6 = Saturday. -#}
    {{ return(adapter.dispatch('day_of_week', 'customer_segments')(timestamp_expression)) }}
{%- endmacro %}

{% macro default__day_of_week(timestamp_expression) -%}
    extract(dow from {{ timestamp_expression }})
{%- endmacro %}

{% macro bigquery__day_of_week(timestamp_expression) -%}
    (extract(dayofweek from {{ timestamp_expression }}) - 1)
{%- endmacro %}

{% macro spark__day_of_week(timestamp_expression) -%}
    {#- Spark numbers days 1 = Sunday … 7 = Saturday, in dayofweek() and in extract(dow) alike:
        `extract(dow) in (0, 6)` would select Fridays as the weekend. -#}
    (dayofweek({{ timestamp_expression }}) - 1)
{%- endmacro %}

{% macro hour_of_day(timestamp_expression) -%}
    {#- Hour of the day of a timestamp, 0 … 23. -#}
    extract(hour from {{ timestamp_expression }})
{%- endmacro %}

{% macro before_as_of_date(timestamp_expression) -%}
    {#- A condition true for timestamps before the as-of date. With the var `as_of_date` empty
        the as-of date is the day after the log's last invoice, which every line precedes, so
        the condition is always true and does not depend on the log: tables filtered with it
        stay valid as the log grows (the incremental netted tables rely on this). -#}
    {%- set cutoff = as_of_date('') -%}
    {%- if cutoff == '' -%}
        1 = 1
    {%- else -%}
        {{ timestamp_expression }} < {{ cutoff }}
    {%- endif -%}
{%- endmacro %}

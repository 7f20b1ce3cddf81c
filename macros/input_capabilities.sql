{#- Optional inputs of the log (stock code, description, country, invoice id) may be missing
    from a user's file; raw.input_capabilities (staged as stg_shop__input_capabilities) says
    which. -#}

{% macro input_is_available(capability, capabilities) -%}
    {#- A scalar subquery over `capabilities`, so it works inside any select; the model names
        the relation (or its import CTE), so its lineage shows what it reads. -#}
    coalesce(
        (
            select min(case when capabilities.is_available then 1 else 0 end) = 1
            from {{ capabilities }} as capabilities
            where capabilities.capability = '{{ capability }}'
        ),
        true
    )
{%- endmacro %}

{% macro report_input_capabilities() -%}
    {#- on-run-start hook: print a note for every missing optional input, so the build output
        says which features are switched off. Prints nothing when the table is absent. -#}
    {%- if execute -%}
        {%- set relation = adapter.get_relation(
            database=target.database, schema='raw', identifier='input_capabilities') -%}
        {%- if relation is not none -%}
            {%- set missing = run_query(
                "select capability, note from " ~ relation ~ " where not is_available order by capability") -%}
            {%- for row in missing.rows -%}
                {{ log("Note: input " ~ row[0] ~ " is missing: " ~ row[1], info=True) }}
            {%- endfor -%}
        {%- endif -%}
    {%- endif -%}
    select 1
{%- endmacro %}

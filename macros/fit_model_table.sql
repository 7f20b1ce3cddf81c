{#- The materialization of a Python model on a target whose dbt adapter cannot run Python
    models (PostgreSQL, Spark in a local session; chosen per target in dbt_project.yml). The
    table is written beside dbt by `segmentation fit-model`; dbt builds nothing here, it checks
    that the table exists (else it says which command makes it), counts its rows and runs the
    model's post-hooks, so that ref() resolves, the node runs in dbt's order and its data tests
    run as on DuckDB. -#}
{% materialization fit_model_table, default, supported_languages=['python'] %}
    {%- set existing = adapter.get_relation(
        database=this.database, schema=this.schema, identifier=this.identifier) -%}
    {%- if existing is none -%}
        {{ exceptions.raise_compiler_error(
            "Python model " ~ model.name ~ ": table " ~ this ~ " does not exist. dbt-"
            ~ target.type ~ " cannot run Python models; their tables come from the fit beside"
            ~ " dbt: run `segmentation fit-model --target " ~ target.name ~ " --build-inputs`"
            ~ " before `dbt build`.") }}
    {%- endif -%}
    {%- call statement('main') -%}
        select count(*) as fitted_rows from {{ existing }}
    {%- endcall -%}
    {#- the model's post-hooks, as every materialization runs them (among them the column
        checks of a build that leaves them out, macros/column_checks.sql) -#}
    {{ run_hooks(post_hooks) }}
    {{ return({'relations': [existing]}) }}
{% endmaterialization %}

{#- Column checks in one query (post-hook of every model; macros/_column_checks__macros.yml).
    Each data test costs dbt a node: a compile, a query and their bookkeeping. In a `dbt build`
    that runs data tests but leaves out a model's tests that read the model alone (the scheduled
    builds, `make run` and `make daily`), the model runs the ones left out in its post-hook, all
    in one query, and fails naming each failing test. A build that selects them all (`make
    test`, a bare `dbt build`) leaves the hook nothing to do. -#}

{% macro column_checks_left_out() -%}
    {%- if not execute or flags.WHICH != 'build' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set left_out = column_checks_to_combine(model.unique_id) -%}
    {%- if left_out | length == 0 -%}
        {{ return('') }}
    {%- endif -%}
    {%- set query -%}
        select
        {%- for check in left_out %}
            {{ check.failing_rows }} as check_{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ this }}
    {%- endset -%}
    {%- set counts = run_query(query).rows[0] -%}
    {%- set errors = [] -%}
    {%- for check in left_out -%}
        {%- set failing = counts[loop.index0] or 0 -%}
        {%- if failing > 0 and check.severity == 'error' -%}
            {%- do errors.append(check.name ~ ' (' ~ failing ~ ' rows break it)') -%}
        {%- elif failing > 0 -%}
            {%- do log('column check ' ~ check.name ~ ' warns: ' ~ failing ~ ' rows break it', info=true) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if errors -%}
        {{ exceptions.raise_compiler_error(
            "column checks of " ~ this ~ " failed: " ~ errors | join('; ')
            ~ ". Run them one by one: dbt test --select " ~ model.name) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{% macro column_checks_to_combine(unique_id) -%}
    {#- The tests of the node `unique_id` that read that node alone (COMBINED_TESTS) and that
        this `dbt build` runs no node for, while it runs some data test (a build without tests
        checks nothing here), each as {name, severity, failing_rows}: failing_rows is the SQL
        expression, valid in an aggregate query on the model, that counts the rows the test
        would return. Simple column tests are aggregates over the model's rows; the project's
        generic tests are counted over their own query (the test macro called with this model),
        so a test and its combined check cannot say different things. -#}
    {%- set checks = [] -%}
    {%- set combined = combined_tests() -%}
    {%- for node in graph.nodes.values()
            if node.resource_type == 'test'
            and node.attached_node == unique_id
            and node.unique_id not in selected_resources
            and node.test_metadata
            and node.test_metadata.name in combined -%}
        {%- set arguments = node.test_metadata.kwargs -%}
        {%- set column = arguments.column_name -%}
        {%- set kept = node.config.where or 'true' -%}
        {%- set rule = node.test_metadata.name -%}
        {%- if rule == 'not_null' -%}
            {%- set failing = 'sum(case when (' ~ kept ~ ') and ' ~ column ~ ' is null then 1 else 0 end)' -%}
        {%- elif rule == 'unique' -%}
            {%- set value = 'case when (' ~ kept ~ ') then ' ~ column ~ ' end' -%}
            {%- set failing = 'count(' ~ value ~ ') - count(distinct ' ~ value ~ ')' -%}
        {%- elif rule == 'accepted_values' -%}
            {%- set quote = arguments.get('quote', true) -%}
            {%- set listed = [] -%}
            {%- for item in arguments['values'] -%}
                {%- do listed.append("'" ~ (item | string | replace("'", "''")) ~ "'" if quote else item | string) -%}
            {%- endfor -%}
            {%- set failing = 'sum(case when (' ~ kept ~ ') and ' ~ column ~ ' not in (' ~ listed | join(', ') ~ ') then 1 else 0 end)' -%}
        {%- elif rule == 'accepted_range' -%}
            {%- set bounds = [] -%}
            {%- if arguments.get('min_value') is not none -%}
                {%- do bounds.append(column ~ ' < ' ~ test_argument(arguments.min_value, node.name)) -%}
            {%- endif -%}
            {%- if arguments.get('max_value') is not none -%}
                {%- do bounds.append(column ~ ' > ' ~ test_argument(arguments.max_value, node.name)) -%}
            {%- endif -%}
            {%- set failing = 'sum(case when (' ~ kept ~ ') and (' ~ (bounds | join(' or ') or 'false') ~ ') then 1 else 0 end)' -%}
        {%- else -%}
            {%- set tested = this if kept == 'true' else '(select * from ' ~ this ~ ' where ' ~ kept ~ ') as tested_rows' -%}
            {%- if rule == 'unique_combination_of_columns' -%}
                {%- set query = test_unique_combination_of_columns(tested, arguments.combination_of_columns) -%}
            {%- elif rule == 'expression_holds' -%}
                {%- set query = test_expression_holds(tested, test_argument(arguments.expression, node.name), column) -%}
            {%- else -%}
                {%- set query = test_at_most_one_row(tested) -%}
            {%- endif -%}
            {%- set failing = '(select count(*) from (' ~ query ~ ') as failing_' ~ loop.index ~ ')' -%}
        {%- endif -%}
        {%- do checks.append({
            'name': node.name,
            'severity': (node.config.severity or 'error') | lower,
            'failing_rows': failing,
        }) -%}
    {%- endfor -%}
    {#- a build that runs no data test at all (e.g. --exclude-resource-type test) checks nothing -#}
    {%- if checks and (' ' ~ selected_resources | join(' ')).find(' test.') < 0 -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return(checks) }}
{%- endmacro %}

{% macro combined_tests() -%}
    {#- The tests a model's post-hook can run in place of their nodes: dbt's simple column
        tests and the project's generic tests that read the tested model and nothing else
        (tests/generic). The scheduled builds' exclusions name the same tests
        (segmentation.io.dbt_commands.COMBINED_TESTS, the Makefile's COMBINED_EXCLUDE). -#}
    {{ return(['not_null', 'unique', 'accepted_values', 'accepted_range',
               'unique_combination_of_columns', 'expression_holds', 'at_most_one_row']) }}
{%- endmacro %}

{% macro test_argument(value, test_name) -%}
    {#- A test argument as the test sees it: the graph keeps arguments unrendered, so a
        `{{ var('name') }}` is looked up here; any other Jinja stops the build with a message
        (give that test a plain value, or keep it out of the combined checks). -#}
    {%- set text = value | string -%}
    {%- if '{{' not in text -%}
        {{ return(text) }}
    {%- endif -%}
    {%- set found = modules.re.fullmatch("\\{\\{\\s*var\\(\\s*'([A-Za-z_][A-Za-z0-9_]*)'\\s*\\)\\s*\\}\\}", text | trim) -%}
    {%- if not found -%}
        {{ exceptions.raise_compiler_error("column check " ~ test_name ~ " has the argument " ~ text ~ ", which the combined checks cannot render (only a plain var call is read)") }}
    {%- endif -%}
    {{ return(var(found.group(1)) | string) }}
{%- endmacro %}

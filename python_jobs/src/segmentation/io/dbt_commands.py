"""How the jobs beside dbt run it.

Scheduled builds (`make run`, `segmentation replay`, the benchmark's pipeline) leave the dbt
unit tests out, as dbt Labs advises for production: a unit test's inputs are fixed rows in YAML,
so it says nothing new about today's data and belongs in development and CI, where `make test`
runs every one of them. Data tests, which check the data, run on every build; the daily build
runs the simple column tests of models inside the models (DAILY_BUILD_ARGS).
"""

from __future__ import annotations

# extra arguments of every scheduled `dbt build` (the Makefile's `run` target says the same)
PRODUCTION_BUILD_ARGS: tuple[str, ...] = ("--exclude-resource-type", "unit_test")
# The daily build (`make daily`, the benchmark's daily run) leaves out the simple column tests of
# models: each model's post-hook runs them instead, in one query (macros/column_checks.sql), so
# every check still runs at a fraction of dbt's cost per test node. Tests on sources and seeds,
# relationships, keys over several columns, expressions and the quality gates keep their nodes.
# The Makefile's DAILY_EXCLUDE lists the same selectors (a test keeps them equal).
COMBINED_COLUMN_TESTS: tuple[str, ...] = tuple(
    f"test_name:{name},resource_type:model+1"
    for name in ("not_null", "unique", "accepted_values", "accepted_range")
)
DAILY_BUILD_ARGS: tuple[str, ...] = (*PRODUCTION_BUILD_ARGS, "--exclude", *COMBINED_COLUMN_TESTS)
# The as-of date from the environment when the var as_of_date is empty (macro as_of_date_setting):
# a run that moves the date build by build this way keeps dbt's partial parsing.
AS_OF_DATE_ENV_VAR = "SEGMENTS_AS_OF_DATE"

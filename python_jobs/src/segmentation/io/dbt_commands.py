"""How the jobs beside dbt run it.

Scheduled builds (`make run`, `make daily`, `segmentation replay`, the benchmark's pipeline)
leave the dbt unit tests out, as dbt Labs advises for production: a unit test's inputs are fixed
rows in YAML, so it says nothing new about today's data and belongs in development and CI, where
`make test` runs every one of them. Data tests, which check the data, run on every build; a
scheduled build runs the tests that read one model alone inside that model
(PRODUCTION_BUILD_ARGS), `make test` runs each as a node of its own.
"""

from __future__ import annotations

# dbt's arguments that leave the unit tests out of a build
WITHOUT_UNIT_TESTS: tuple[str, ...] = ("--exclude-resource-type", "unit_test")
# Scheduled builds leave out the nodes of the tests that read the tested model alone: dbt's
# simple column tests and the project's key, expression and one-row tests. Each model's
# post-hook runs them instead, in one query (macros/column_checks.sql, whose macro
# combined_tests lists the same names), so every check still runs, at a fraction of dbt's cost
# per test node. Tests on sources and seeds, tests that compare two tables (relationships, row
# counts), the singular tests and the quality gates keep their nodes. The Makefile's
# COMBINED_EXCLUDE lists the same selectors (a test keeps them equal).
COMBINED_TESTS: tuple[str, ...] = (
    "not_null",
    "unique",
    "accepted_values",
    "accepted_range",
    "unique_combination_of_columns",
    "expression_holds",
    "at_most_one_row",
)
COMBINED_TEST_SELECTORS: tuple[str, ...] = tuple(
    f"test_name:{name},resource_type:model+1" for name in COMBINED_TESTS
)
# extra arguments of every scheduled `dbt build` (the Makefile's `run` and `daily` say the same)
PRODUCTION_BUILD_ARGS: tuple[str, ...] = (
    *WITHOUT_UNIT_TESTS,
    "--exclude",
    *COMBINED_TEST_SELECTORS,
)
# The as-of date from the environment when the var as_of_date is empty (macro as_of_date_setting):
# a run that moves the date build by build this way keeps dbt's partial parsing.
AS_OF_DATE_ENV_VAR = "SEGMENTS_AS_OF_DATE"

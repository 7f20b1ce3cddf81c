"""How the jobs beside dbt run it.

Scheduled builds (`make run`, `segmentation replay`, the benchmark's pipeline) leave the dbt
unit tests out, as dbt Labs advises for production: a unit test's inputs are fixed rows in YAML,
so it says nothing new about today's data and belongs in development and CI, where `make test`
runs every one of them. Data tests, which check the data, run on every build.
"""

from __future__ import annotations

# extra arguments of every scheduled `dbt build` (the Makefile's `run` target says the same)
PRODUCTION_BUILD_ARGS: tuple[str, ...] = ("--exclude-resource-type", "unit_test")
# The as-of date from the environment when the var as_of_date is empty (macro as_of_date_setting):
# a run that moves the date build by build this way keeps dbt's partial parsing.
AS_OF_DATE_ENV_VAR = "SEGMENTS_AS_OF_DATE"

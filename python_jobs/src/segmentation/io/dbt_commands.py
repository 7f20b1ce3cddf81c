"""How the jobs beside dbt run it.

Scheduled builds (`make run`, `segmentation replay`, the benchmark's pipeline) leave the dbt
unit tests out, as dbt Labs advises for production: a unit test's inputs are fixed rows in YAML,
so it says nothing new about today's data and belongs in development and CI, where `make test`
runs every one of them. Data tests, which check the data, run on every build.
"""

from __future__ import annotations

# extra arguments of every scheduled `dbt build` (the Makefile's `run` target says the same)
PRODUCTION_BUILD_ARGS: tuple[str, ...] = ("--exclude-resource-type", "unit_test")

"""The scheduled builds (`make run`, `make daily`, replay): each model's tests that read the model
alone (simple column tests, keys over several columns, row expressions, one-row tests) run
inside the model, in one query, instead of one dbt test node each; every other test keeps its
node. `make test`'s build runs each test as its own node.

On copies of the session's demo warehouse: the scheduled build passes where the build with
every test node does, runs no node for those tests of a model (and keeps the ones of sources and
seeds, and the tests that read a second table), and a broken value or a repeated key fails the
same test in both.
"""

from __future__ import annotations

import json
import re

import duckdb
import pytest
from helpers import REPO_ROOT, run_dbt, run_results

from segmentation.io.dbt_commands import COMBINED_TESTS, PRODUCTION_BUILD_ARGS, WITHOUT_UNIT_TESTS

pytestmark = pytest.mark.dbt

EVENT_KIND_TEST = "accepted_values_stg_shop__engagement_events_event_kind"
NETTED_KEY_TEST = "unique_combination_of_columns_int_sale_lines_netted_source_file__source_row"


def _tests(work) -> dict[str, dict]:
    """Every data test of the manifest, by unique id."""
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    return {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "test"}


def test_a_scheduled_build_runs_no_node_for_a_test_that_reads_one_model_alone(demo_build, tmp_path):
    warehouse = demo_build.copy_to(tmp_path / "scheduled")
    run_dbt(["build", *PRODUCTION_BUILD_ARGS], warehouse.database, warehouse.work)
    ran = {result["unique_id"] for result in run_results(warehouse.work)["results"]}
    tests = _tests(warehouse.work)
    left_out = set(tests) - ran
    assert left_out, "the scheduled build ran every test node"
    for uid in left_out:
        node = tests[uid]
        assert node["test_metadata"]["name"] in COMBINED_TESTS, uid
        assert node["attached_node"].startswith("model."), uid
        # the test reads its model and nothing else
        assert node["depends_on"]["nodes"] == [node["attached_node"]], uid
    # every such test of a model is left out; those of sources and seeds keep their nodes
    for uid, node in tests.items():
        combined = (node.get("test_metadata") or {}).get("name") in COMBINED_TESTS
        on_model = (node.get("attached_node") or "").startswith("model.")
        assert (uid in left_out) == (combined and on_model), uid
    left_out_kinds = {tests[uid]["test_metadata"]["name"] for uid in left_out}
    assert left_out_kinds == set(COMBINED_TESTS)  # the demo project uses each kind
    kept = {tests[uid]["test_metadata"]["name"] for uid in ran & set(tests) if "source_" in uid}
    assert {"not_null", "unique_combination_of_columns"} <= kept  # sources keep their nodes
    kept_on_models = {
        tests[uid]["test_metadata"]["name"]
        for uid in ran & set(tests)
        if (tests[uid].get("attached_node") or "").startswith("model.")
        and tests[uid].get("test_metadata")
    }
    assert "relationships" in kept_on_models  # a test reading a second table keeps its node


def _failures_in_both_builds(warehouse, model: str, dependant: str, test: str) -> set[str]:
    """Run the scheduled build on ``warehouse``, which must fail in ``model``'s post-hook naming
    ``test`` with one row (``dependant`` skipped), then a test run of ``model`` with every test
    as its own node: the names of the tests that failed there."""
    scheduled = run_dbt(
        ["build", *PRODUCTION_BUILD_ARGS], warehouse.database, warehouse.work, check=False
    )
    assert scheduled.returncode != 0
    assert test in scheduled.stdout and "1 rows break it" in scheduled.stdout
    statuses = {r["unique_id"]: r["status"] for r in run_results(warehouse.work)["results"]}
    assert statuses[f"model.customer_segments.{model}"] == "error"
    assert statuses[f"model.customer_segments.{dependant}"] == "skipped"
    full = run_dbt(
        ["test", *WITHOUT_UNIT_TESTS, "--select", model],
        warehouse.database,
        warehouse.work,
        check=False,
    )
    assert full.returncode != 0
    return {
        r["unique_id"].split(".")[2]
        for r in run_results(warehouse.work)["results"]
        if r["status"] == "fail"
    }


def test_a_broken_value_fails_the_same_test_in_both_builds(demo_build, tmp_path) -> None:
    warehouse = demo_build.copy_to(tmp_path / "broken")
    with duckdb.connect(str(warehouse.database)) as con:
        con.execute(
            "update raw.engagement_events set event_kind = 'bogus' "
            "where source_row in (select min(source_row) from raw.engagement_events)"
        )
    failed = _failures_in_both_builds(
        warehouse, "stg_shop__engagement_events", "int_customer_engagement", EVENT_KIND_TEST
    )
    # the same value fails the test's own node when every test runs as one
    assert len(failed) == 1 and next(iter(failed)).startswith(EVENT_KIND_TEST)


def test_a_repeated_key_in_kept_rows_fails_the_same_test_in_both_builds(demo_build, tmp_path):
    """An incremental model keeps its rows of unchanged customers: a line repeated there (a
    damaged table) is found by the key test run in the model's post-hook in a scheduled build,
    and by the test's own node when every test runs as one."""
    warehouse = demo_build.copy_to(tmp_path / "repeated")
    with duckdb.connect(str(warehouse.database)) as con:
        con.execute(
            "insert into intermediate.int_sale_lines_netted "
            "select * from intermediate.int_sale_lines_netted "
            "where source_row in (select min(source_row) from intermediate.int_sale_lines_netted)"
        )
    failed = _failures_in_both_builds(
        warehouse, "int_sale_lines_netted", "int_orders_netted", NETTED_KEY_TEST
    )
    # the key test, and the reconciliation of revenue across layers, which the repeat breaks too
    assert any(name.startswith(NETTED_KEY_TEST) for name in failed), failed


def test_the_makefile_scheduled_builds_leave_out_the_same_tests() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text().splitlines()

    def value(name: str) -> str:
        return next(x for x in makefile if x.startswith(f"{name} :=")).split(":=", 1)[1]

    assert value("COMBINED_EXCLUDE").split() == list(PRODUCTION_BUILD_ARGS[3:])
    assert PRODUCTION_BUILD_ARGS[:3] == (*WITHOUT_UNIT_TESTS, "--exclude")
    scheduled = value("SCHEDULED_BUILD_ARGS")
    expanded = scheduled.replace("$(COMBINED_EXCLUDE)", value("COMBINED_EXCLUDE"))
    assert expanded.split() == list(PRODUCTION_BUILD_ARGS)
    # the builds of `make run` and `make daily` use them, and no other build leaves tests out
    builds = [x for x in makefile if "/dbt build" in x]
    assert sum("dbt build $(SCHEDULED_BUILD_ARGS) " in x for x in builds) == 2
    assert not any("--exclude" in x for x in builds)


def test_the_post_hook_combines_the_tests_the_scheduled_builds_leave_out() -> None:
    """The macro combined_tests names the tests of COMBINED_TESTS, in the same order."""
    macros = (REPO_ROOT / "macros" / "column_checks.sql").read_text()
    body = macros.split("{% macro combined_tests() -%}", 1)[1].split("{%- endmacro %}", 1)[0]
    listed = re.findall(r"'([a-z_]+)'", body.split("return(", 1)[1])
    assert tuple(listed) == COMBINED_TESTS

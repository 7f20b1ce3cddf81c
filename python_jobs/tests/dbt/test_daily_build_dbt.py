"""The daily build (`make daily`): each model's simple column tests run inside the model, in
one query, instead of one dbt test node each; every other test keeps its node.

On copies of the session's demo warehouse: the daily build passes where the full build does,
runs no node for a simple column test of a model (and keeps the ones of sources and seeds), and
a broken value fails the same test in both builds.
"""

from __future__ import annotations

import json

import duckdb
import pytest
from helpers import REPO_ROOT, run_dbt, run_results

from segmentation.io.dbt_commands import DAILY_BUILD_ARGS, PRODUCTION_BUILD_ARGS

pytestmark = pytest.mark.dbt

SIMPLE = {"not_null", "unique", "accepted_values", "accepted_range"}
EVENT_KIND_TEST = "accepted_values_stg_shop__engagement_events_event_kind"


def _tests(work) -> dict[str, dict]:
    """Every data test of the manifest, by unique id."""
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    return {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "test"}


def test_the_daily_build_runs_no_node_for_a_models_simple_column_test(demo_build, tmp_path):
    warehouse = demo_build.copy_to(tmp_path / "daily")
    run_dbt(["build", *DAILY_BUILD_ARGS], warehouse.database, warehouse.work)
    ran = {result["unique_id"] for result in run_results(warehouse.work)["results"]}
    tests = _tests(warehouse.work)
    left_out = set(tests) - ran
    assert left_out, "the daily build ran every test node"
    for uid in left_out:
        node = tests[uid]
        assert node["test_metadata"]["name"] in SIMPLE, uid
        assert node["attached_node"].startswith("model."), uid
    # every simple test of a model is left out; those of sources and seeds keep their nodes
    for uid, node in tests.items():
        simple = (node.get("test_metadata") or {}).get("name") in SIMPLE
        on_model = (node.get("attached_node") or "").startswith("model.")
        assert (uid in left_out) == (simple and on_model), uid
    kept = {tests[uid]["test_metadata"]["name"] for uid in ran & set(tests) if "source_" in uid}
    assert "not_null" in kept  # a source's column test still has its node


def test_a_broken_value_fails_the_same_test_in_both_builds(demo_build, tmp_path) -> None:
    warehouse = demo_build.copy_to(tmp_path / "broken")
    with duckdb.connect(str(warehouse.database)) as con:
        con.execute(
            "update raw.engagement_events set event_kind = 'bogus' "
            "where source_row in (select min(source_row) from raw.engagement_events)"
        )
    daily = run_dbt(["build", *DAILY_BUILD_ARGS], warehouse.database, warehouse.work, check=False)
    assert daily.returncode != 0
    assert EVENT_KIND_TEST in daily.stdout and "1 rows break it" in daily.stdout
    statuses = {r["unique_id"]: r["status"] for r in run_results(warehouse.work)["results"]}
    assert statuses["model.customer_segments.stg_shop__engagement_events"] == "error"
    assert statuses["model.customer_segments.int_customer_engagement"] == "skipped"
    # the same value fails the test's own node in a full build's test run
    full = run_dbt(
        ["test", *PRODUCTION_BUILD_ARGS, "--select", "stg_shop__engagement_events"],
        warehouse.database,
        warehouse.work,
        check=False,
    )
    assert full.returncode != 0
    failed = {
        r["unique_id"].split(".")[2]
        for r in run_results(warehouse.work)["results"]
        if r["status"] == "fail"
    }
    assert len(failed) == 1 and next(iter(failed)).startswith(EVENT_KIND_TEST)


def test_the_makefile_daily_build_leaves_out_the_same_tests() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    line = next(x for x in makefile.splitlines() if x.startswith("DAILY_EXCLUDE :="))
    assert line.split(":=", 1)[1].split() == list(DAILY_BUILD_ARGS[3:])
    assert DAILY_BUILD_ARGS[2] == "--exclude"

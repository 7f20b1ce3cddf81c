"""The evaluation tables and quality gates in a real `dbt build` on the demo warehouse.

1. The session's default build (conftest.py) fills every evaluation table and passes the gates.
2. With an impossible threshold (--vars) the build fails, prints which gate failed with the
   measured value, and leaves the previous marts.fct_customer_segments untouched although its
   inputs changed; at severity warn the same gate only warns and the marts are rebuilt.
3. The stability gate reads the weakest segment, the share gate spares a valuable small
   segment: both judged on an evaluation row set by hand.

The rebuilds cut the evaluation to a few resamples and splits through --vars to stay short.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from helpers import REPO_ROOT, dbt_vars, node_statuses, query, run_dbt

from segmentation.config.varcheck import project_vars

pytestmark = pytest.mark.dbt

EVALUATION = {
    "bootstrap": {"resamples": 4},
    "prediction_strength": {"splits": 2},
    "seed_agreement": {"seeds": [1, 2]},
}
SEGMENTS = "select * from marts.fct_customer_segments order by customer_id"


def build(database: Path, work: Path, *select: str, check: bool = True, **gates: object):
    """`dbt build` (of ``select`` when given) with the short evaluation and these gate vars."""
    variables = dbt_vars({"evaluation": EVALUATION, **gates})
    selection = ["--select", *select] if select else []
    return run_dbt(["build", *selection, *variables], database, work, check=check)


@pytest.fixture(scope="module")
def warehouse(demo_copy) -> tuple[Path, Path]:
    return demo_copy.database, demo_copy.work


def test_evaluation_tables_are_filled_and_the_gates_pass(demo_build) -> None:
    database, work = demo_build.database, demo_build.work
    defaults = project_vars(REPO_ROOT)["evaluation"]
    results = node_statuses(work)
    gates = {name: status for name, status in results.items() if name.startswith("quality_gate")}
    assert gates == {
        name: "pass"
        for name in (
            "quality_gate_one_segment_per_customer",
            "quality_gate_segment_count",
            "quality_gate_min_segment_share",
            "quality_gate_max_noise_share",
            "quality_gate_min_silhouette",
            "quality_gate_min_stability",
        )
    }
    customers = query(database, "select count(*) from marts.fct_customer_features")[0][0]
    (summary,) = query(
        database,
        "select n_segments, n_customers_evaluated, silhouette, mean_bootstrap_stability, "
        "prediction_strength_at_model_k, seed_count, external_validation_status, "
        "external_adjusted_rand_index, bootstrap_resamples from ml.ml_segment_evaluation",
    )
    n_segments, evaluated, silhouette, stability, strength, seeds, status, ari, resamples = summary
    assert evaluated == customers and resamples == defaults["bootstrap"]["resamples"]
    assert seeds == len(defaults["seed_agreement"]["seeds"]) > 1
    assert 0.1 <= silhouette <= 1 and 0.85 <= stability <= 1 and 0 <= strength <= 1
    # the demo plants archetypes: external validation is available and far above chance
    assert status == "available" and ari > 0.3
    (model_silhouette,) = query(database, "select silhouette from ml.ml_segment_model")[0]
    assert silhouette == pytest.approx(model_silhouette)
    counts = query(
        database,
        "select (select count(*) from ml.ml_segment_stability), "
        "(select count(*) from ml.ml_seed_agreement), "
        "(select count(*) from ml.ml_customer_evaluation), "
        "(select count(*) from ml.ml_prediction_strength where is_model_k)",
    )[0]
    assert counts == (n_segments, seeds, customers, 1)


def test_an_impossible_gate_stops_the_build_and_keeps_the_last_good_marts(warehouse) -> None:
    database, work = warehouse
    before = query(database, SEGMENTS)
    # New data: a rebuilt mart would lose these customers.
    with duckdb.connect(str(database)) as con:
        gone = con.execute(
            "select customer_id from marts.fct_customer_features order by customer_id limit 40"
        ).fetchall()
        con.execute(
            "delete from raw.transactions where customer_id in (select unnest(?))",
            [[row[0] for row in gone]],
        )
    failed = build(database, work, check=False, quality_gate_min_silhouette=0.99)
    assert failed.returncode != 0
    match = re.search(
        r"quality gate min_silhouette did not pass: measured ([0-9.]+), required >= 0\.99 "
        r"\(var quality_gate_min_silhouette\) \[severity error\]",
        failed.stdout,
    )
    assert match, failed.stdout[-3000:]
    (measured,) = query(database, "select silhouette from ml.ml_segment_evaluation")[0]
    assert float(match.group(1)) == pytest.approx(measured, abs=5e-5)
    assert "FAIL 1 quality_gate_min_silhouette" in failed.stdout
    assert "in test quality_gate_min_silhouette" in failed.stdout
    results = node_statuses(work)
    assert results["quality_gate_min_silhouette"] == "fail"
    assert results["fct_customer_segments"] == "skipped"
    assert results["dim_segments"] == "skipped"
    # upstream tables were rebuilt on the new data, the BI mart was not
    features = query(database, "select count(*) from marts.fct_customer_features")[0][0]
    assert features == len(before) - len(gone)
    assert query(database, SEGMENTS) == before

    # The same gate at severity warn reports and lets the marts through (the tables upstream
    # of the evaluation were rebuilt above).
    warned = build(
        database,
        work,
        "ml_segment_evaluation+",
        quality_gate_min_silhouette=0.99,
        quality_gate_severity="warn",
    )
    assert "quality gate min_silhouette did not pass" in warned.stdout
    assert "[severity warn]" in warned.stdout
    assert node_statuses(work)["quality_gate_min_silhouette"] == "warn"
    assert len(query(database, SEGMENTS)) == features


def gate_failures(database: Path, work: Path, **columns: float) -> set[str]:
    """The quality gates that fail on ml_segment_evaluation with ``columns`` set to these values
    (dbt test only: the table stays as set)."""
    assignments = ", ".join(f"{name} = {value}" for name, value in columns.items())
    with duckdb.connect(str(database)) as con:
        con.execute(f"update ml.ml_segment_evaluation set {assignments}")
    run_dbt(["test", "--select", "ml_segment_evaluation"], database, work, check=False)
    return {name for name, status in node_statuses(work).items() if status == "fail"}


def test_the_stability_gate_reads_the_weakest_segment(demo_copy) -> None:
    database, work = demo_copy.database, demo_copy.work
    # one dissolved segment among stable ones: the mean alone would pass
    failed = gate_failures(database, work, mean_bootstrap_stability=0.92, min_segment_stability=0.5)
    assert failed == {"quality_gate_min_stability"}
    assert gate_failures(database, work, min_segment_stability=0.8) == set()


def test_the_share_gate_spares_a_small_valuable_segment(demo_copy) -> None:
    database, work = demo_copy.database, demo_copy.work
    # a 1 % segment the selection admitted as valuable: the other segments are large
    spared = gate_failures(
        database,
        work,
        smallest_segment_share=0.01,
        valuable_segment_count=1,
        smallest_regular_segment_share=0.12,
    )
    assert spared == set()
    assert gate_failures(database, work, smallest_regular_segment_share=0.01) == {
        "quality_gate_min_segment_share"
    }

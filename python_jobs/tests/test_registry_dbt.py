"""The maintained model through real `dbt build`s on one small demo warehouse (marked dbt).

One warehouse, built in order: first build (trains), the same build again (changes nothing),
`retrain: true` (keeps every segment id), `--full-refresh` (keeps registry and history), then
prices tripled for the newest months (the policy retrains and says why). Selection stops at the
monitoring models and the clustering is cut to K-Means k 3..5 so the builds stay short.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import run_dbt

from segmentation.engine.scoring import score

REGISTRY_MODELS = [
    "ml_model_registry",
    "ml_registry_transform_params",
    "ml_registry_representatives",
    "ml_registry_feature_bins",
    "ml_segment_lineage",
    "ml_model_candidates",
    "ml_algorithm_agreement",
]

pytestmark = pytest.mark.dbt

END = dt.date(2026, 9, 30)
CUT = "2026-07-01"  # first as-of date; prices are tripled from here on later
FAST = {"segmentation": {"algorithms": ["kmeans"], "kmeans": {"k_min": 3, "k_max": 5, "n_init": 2}}}
# the registry and monitoring models, not the evaluation and personas that read them
SELECT = [
    "--select",
    "+models/monitoring",
    *REGISTRY_MODELS,
    "--indirect-selection",
    "cautious",
    "--exclude-resource-type",
    "unit_test",
]
REGISTRY = ("ml.ml_registry_runs", "monitoring.mon_assignment_history")


def _build(database: Path, work: Path, *extra: str, **vars_: object) -> None:
    run_dbt(["build", *SELECT, "--vars", json.dumps({**FAST, **vars_}), *extra], database, work)


def _query(database: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.sql(sql).df()
    finally:
        con.close()


def _assignments(database: Path) -> dict[str, int]:
    frame = _query(database, "select customer_id, segment_id from ml.ml_customer_assignments")
    return dict(zip(frame["customer_id"], frame["segment_id"], strict=True))


def _rows(database: Path, table: str) -> pd.DataFrame:
    return _query(database, f"select * from {table}")


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Build the warehouse step by step and record what each step left."""
    demo = pytest.importorskip("segmentation.demo")
    work = tmp_path_factory.mktemp("registry")
    database = work / "segments.duckdb"
    con = duckdb.connect(str(database))
    demo.write_demo(con, demo.DemoConfig(customers=600, months=14, end_date=END))
    con.close()
    seen: dict[str, dict] = {}

    def snapshot(name: str) -> None:
        seen[name] = {
            "runs": _rows(database, "ml.ml_registry_runs"),
            "history": _rows(database, "monitoring.mon_assignment_history"),
            "assignments": _assignments(database),
            "registry": _rows(database, "ml.ml_model_registry"),
        }

    _build(database, work, as_of_date=CUT)
    snapshot("first")
    features = _rows(database, "marts.fct_customer_features")
    params = _rows(database, "ml.ml_feature_transform_params")
    reps = _rows(database, "ml.ml_segment_representatives")
    python = score(features, params, reps)
    seen["first"]["python"] = dict(zip(python.customer_ids, python.segment_ids, strict=True))
    _build(database, work, as_of_date=CUT)
    snapshot("again")
    _build(database, work, as_of_date=CUT, retrain=True)
    snapshot("retrained")
    _build(database, work, "--full-refresh", as_of_date=CUT)
    snapshot("full_refresh")
    con = duckdb.connect(str(database))
    con.execute(
        f"update raw.transactions set unit_price = unit_price * 3 where invoiced_at >= '{CUT}'"
    )
    con.close()
    _build(database, work)
    snapshot("drifted")
    seen["final"] = {
        "migration": _rows(database, "monitoring.mon_segment_migration"),
        "drift": _rows(database, "monitoring.mon_feature_drift"),
        "policy": _rows(database, "monitoring.mon_retraining_policy"),
        "lineage": _rows(database, "ml.ml_segment_lineage"),
    }
    return seen


def test_first_build_trains_and_sql_scoring_equals_python_scoring(states) -> None:
    first = states["first"]
    assert first["runs"]["decision"].tolist() == ["first_model"]
    assert len(first["assignments"]) > 300
    assert first["assignments"] == {k: int(v) for k, v in first["python"].items()}
    assert first["history"]["run_id"].unique().tolist() == [1]


def test_building_again_on_unchanged_data_changes_nothing(states) -> None:
    first, again = states["first"], states["again"]
    assert again["assignments"] == first["assignments"]
    pd.testing.assert_frame_equal(again["runs"], first["runs"])
    assert len(again["history"]) == len(first["history"])


def test_retrain_on_unchanged_data_keeps_every_segment_id(states) -> None:
    retrained = states["retrained"]
    last = retrained["runs"].iloc[-1]
    assert last["decision"] == "retrained" and last["reason_codes"] == "requested"
    assert retrained["registry"]["model_version_number"].tolist() == [1, 2]
    assert retrained["assignments"] == states["first"]["assignments"]
    assert sorted(retrained["history"]["run_id"].unique()) == [1, 2]


def test_full_refresh_keeps_registry_and_history(states) -> None:
    before, after = states["retrained"], states["full_refresh"]
    for key in ("runs", "history"):
        kept = after[key].merge(before[key], how="inner")
        assert len(kept) == len(before[key]), key
    assert after["registry"]["model_version_id"].tolist()[:2] == (
        before["registry"]["model_version_id"].tolist()
    )


def test_tripled_prices_trigger_the_policy_and_the_reason_is_recorded(states) -> None:
    runs = states["drifted"]["runs"]
    last = runs.iloc[-1]
    assert last["decision"] == "retrained"
    assert "feature_drift" in last["reason_codes"].split(",")
    version = states["drifted"]["registry"].iloc[-1]
    assert version["model_version_id"] == last["model_version_id"]
    assert "feature_drift" in version["training_reason"]
    drift = states["final"]["drift"]
    latest = drift[drift["is_latest_run"]]
    assert (latest["psi_band"] == "significant").any()
    policy = states["final"]["policy"]
    fired = policy[policy["is_latest_run"] & policy["is_triggered"]]["rule_name"].tolist()
    assert "feature_drift" in fired


def test_history_and_migration_cover_every_run(states) -> None:
    history = states["drifted"]["history"]
    runs = states["drifted"]["runs"]
    assert sorted(history["run_id"].unique()) == runs["run_id"].tolist()
    migration = states["final"]["migration"]
    pairs = migration[["from_run_id", "to_run_id"]].drop_duplicates()
    assert len(pairs) == len(runs) - 1
    for to_run, group in migration.groupby("to_run_id"):
        customers = (history["run_id"] == to_run).sum()
        assert group.loc[group["to_segment_id"].notna(), "customer_count"].sum() == customers
    lineage = states["final"]["lineage"]
    assert set(lineage["status"]) <= {"first", "kept", "new", "retired"}

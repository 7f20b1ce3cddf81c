"""`segmentation replay` over three months of the real Online Retail log (marked dbt, real_data).

Each month's files are loaded and `dbt build` runs as of the next month's first day; the
clustering is cut to K-Means k 3..5 and the builds stop at the monitoring models, so the three
builds take about two minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json

import duckdb
import pandas as pd
import pytest
from conftest import REPO_ROOT, require_online_retail

from segmentation.cli import replay as replay_job

REGISTRY_MODELS = [
    "ml_model_registry",
    "ml_registry_transform_params",
    "ml_registry_representatives",
    "ml_registry_feature_bins",
    "ml_segment_lineage",
    "ml_model_candidates",
    "ml_algorithm_agreement",
]

pytestmark = [pytest.mark.dbt, pytest.mark.real_data]

FAST = {"segmentation": {"algorithms": ["kmeans"], "kmeans": {"k_min": 3, "k_max": 5, "n_init": 2}}}
# the registry and monitoring models, not the evaluation and personas that read them
DBT_ARGS = [
    "--select",
    "+models/monitoring",
    *REGISTRY_MODELS,
    "--indirect-selection",
    "cautious",
    "--exclude-resource-type",
    "unit_test",
]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    folder = require_online_retail()
    work = tmp_path_factory.mktemp("replay")
    database = work / "segments.duckdb"
    parser = argparse.ArgumentParser()
    replay_job.add_arguments(parser)
    args = parser.parse_args(
        [str(folder), "--database", str(database), "--from", "2010-12", "--months", "3"]
        + ["--vars", json.dumps(FAST), "--project-dir", str(REPO_ROOT)]
        + ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
        + [f"--dbt-arg={arg}" for arg in DBT_ARGS]
    )
    assert replay_job.run(args) == 0
    con = duckdb.connect(str(database), read_only=True)
    tables = {
        name: con.sql(f"select * from {name}").df()
        for name in (
            "ml.ml_registry_runs",
            "ml.ml_model_registry",
            "monitoring.mon_assignment_history",
            "monitoring.mon_segment_migration",
            "monitoring.mon_feature_drift",
            "monitoring.mon_segment_size_drift",
            "monitoring.mon_retraining_policy",
        )
    }
    tables["loaded_until"] = con.sql("select max(invoiced_at) from raw.transactions").df()
    con.close()
    return tables


def test_one_scoring_run_per_month_with_advancing_as_of_dates(replayed) -> None:
    runs = replayed["ml.ml_registry_runs"].sort_values("run_id")
    assert runs["run_id"].tolist() == [1, 2, 3]
    as_of = [pd.Timestamp(value).date() for value in runs["as_of_date"]]
    assert as_of == [dt.date(2011, 1, 1), dt.date(2011, 2, 1), dt.date(2011, 3, 1)]
    assert runs["decision"].iloc[0] == "first_model"
    assert runs["n_customers"].is_monotonic_increasing and runs["n_customers"].iloc[0] > 500
    assert pd.Timestamp(replayed["loaded_until"].iloc[0, 0]) < pd.Timestamp("2011-03-01")
    assert len(replayed["ml.ml_model_registry"]) == runs["is_training_run"].sum() >= 1


def test_history_holds_every_customer_of_every_run(replayed) -> None:
    history = replayed["monitoring.mon_assignment_history"]
    runs = replayed["ml.ml_registry_runs"].set_index("run_id")
    counts = history.groupby("run_id")["customer_id"].nunique()
    assert counts.to_dict() == runs["n_customers"].to_dict()
    assert not history.duplicated(["run_id", "customer_id"]).any()


def test_migration_links_consecutive_months(replayed) -> None:
    migration = replayed["monitoring.mon_segment_migration"]
    pairs = sorted(set(zip(migration["from_run_id"], migration["to_run_id"], strict=True)))
    assert pairs == [(1, 2), (2, 3)]
    history = replayed["monitoring.mon_assignment_history"]
    for (before, after), group in migration.groupby(["from_run_id", "to_run_id"]):
        earlier = set(history.loc[history["run_id"] == before, "customer_id"])
        later = set(history.loc[history["run_id"] == after, "customer_id"])
        new = group.loc[group["from_segment_id"].isna(), "customer_count"].sum()
        assert new == len(later - earlier) > 0
        assert group["customer_count"].sum() == len(later | earlier)


def test_drift_and_policy_are_measured_for_every_month_after_the_first(replayed) -> None:
    drift = replayed["monitoring.mon_feature_drift"]
    assert sorted(drift["run_id"].unique()) == [2, 3]
    assert (drift["psi"] >= 0).all()
    assert set(drift["psi_band"]) <= {"stable", "moderate", "significant"}
    sizes = replayed["monitoring.mon_segment_size_drift"]
    for _, group in sizes.groupby("run_id"):
        assert group["current_share"].sum() == pytest.approx(1.0)
    policy = replayed["monitoring.mon_retraining_policy"]
    runs = replayed["ml.ml_registry_runs"].set_index("run_id")
    for run_id, group in policy.groupby("run_id"):
        fired = group.loc[group["is_triggered"], "rule_name"].tolist()
        assert ",".join(fired) == runs.loc[run_id, "reason_codes"]

"""`segmentation replay` over six months of the real Online Retail log with the default vars
(marked dbt, real_data): the first half of the real year, as `make replay` builds it.

The replay runs a month at a time (the loader skips the files already loaded), so the kept
model's evaluation can be read after every month. The builds stop at the registry, evaluation
and monitoring models (what the segment marts and personas read is tested elsewhere).
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd
import pytest
from helpers import REGISTRY_SELECTION, REPO_ROOT, parse_job_args, require_online_retail

from segmentation.cli import replay as replay_job
from segmentation.config.segmentation import SegmentationSettings

pytestmark = [pytest.mark.dbt, pytest.mark.real_data]

MONTHS = ["2010-12", "2011-01", "2011-02", "2011-03", "2011-04", "2011-05"]
SELECTION = [*REGISTRY_SELECTION[:2], "+ml_segment_evaluation", *REGISTRY_SELECTION[2:]]
SELECTION_SETTINGS = SegmentationSettings.from_mapping(None).selection


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    folder = require_online_retail()
    work = tmp_path_factory.mktemp("replay")
    database = work / "segments.duckdb"
    evaluations = []
    for month in MONTHS:
        args = parse_job_args(
            replay_job,
            [str(folder), "--database", str(database), "--from", month, "--months", "1"]
            + ["--project-dir", str(REPO_ROOT)]
            + ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
            + [f"--dbt-arg={arg}" for arg in SELECTION],
        )
        assert replay_job.run(args) == 0, f"the build of {month} failed with the default vars"
        with duckdb.connect(str(database), read_only=True) as con:
            evaluations.append(con.sql("select * from ml.ml_segment_evaluation").df())
    with duckdb.connect(str(database), read_only=True) as con:
        tables = {
            name: con.sql(f"select * from {name}").df()
            for name in (
                "ml.ml_registry_runs",
                "ml.ml_model_registry",
                "ml.ml_model_migration",
                "ml.ml_registry_feature_bins",
                "monitoring.mon_assignment_history",
                "monitoring.mon_segment_migration",
                "monitoring.mon_feature_drift",
                "monitoring.mon_segment_size_drift",
                "monitoring.mon_retraining_policy",
            )
        }
        tables["loaded_until"] = con.sql("select max(invoiced_at) from raw.transactions").df()
    tables["evaluations"] = pd.concat(evaluations, ignore_index=True)
    return tables


def test_one_green_scoring_run_per_month_with_advancing_as_of_dates(replayed) -> None:
    runs = replayed["ml.ml_registry_runs"].sort_values("run_id")
    assert runs["run_id"].tolist() == list(range(1, len(MONTHS) + 1))
    as_of = [pd.Timestamp(value).date() for value in runs["as_of_date"]]
    assert as_of == [dt.date(2011, month, 1) for month in range(1, len(MONTHS) + 1)]
    assert runs["decision"].iloc[0] == "first_model"
    assert runs["n_customers"].is_monotonic_increasing and runs["n_customers"].iloc[0] > 500
    assert pd.Timestamp(replayed["loaded_until"].iloc[0, 0]) < pd.Timestamp("2011-06-01")
    assert len(replayed["ml.ml_model_registry"]) == runs["is_training_run"].sum() >= 1


def test_every_months_segments_meet_the_stability_criteria(replayed) -> None:
    evaluations = replayed["evaluations"]
    assert len(evaluations) == len(MONTHS)
    assert (evaluations["min_segment_stability"] >= SELECTION_SETTINGS.min_segment_stability).all()
    assert (evaluations["mean_bootstrap_stability"] >= SELECTION_SETTINGS.min_mean_stability).all()


def test_retrains_keep_the_number_of_segments_or_say_why_not(replayed) -> None:
    versions = replayed["ml.ml_model_registry"].sort_values("model_version_number")
    assert len(versions) >= 2, "the young log retrains at least once in its first months"
    pairs = zip(versions.iloc[:-1].itertuples(), versions.iloc[1:].itertuples(), strict=True)
    for before, after in pairs:
        if after.n_segments != before.n_segments:
            assert "no longer stable" in after.selection_reason or "cannot be kept" in (
                after.selection_reason
            ), after.selection_reason
        else:
            assert after.selection_reason.startswith(
                f"kept the kept model's {before.n_segments} segments"
            )


def test_retrain_reasons_name_changes_in_customers_not_the_logs_age(replayed) -> None:
    runs = replayed["ml.ml_registry_runs"]
    retrains = runs[runs["decision"] == "retrained"]
    drift = replayed["monitoring.mon_feature_drift"]
    age_bound = {"recency_days", "tenure_days", "mean_days_between_orders", "frequency_orders"}
    # the features that grow with the log's age are compared per day of the log
    assert set(drift.loc[drift["feature_name"].isin(age_bound), "drift_scale"]) == {"per_log_day"}
    assert set(drift.loc[drift["feature_name"] == "avg_order_value", "drift_scale"]) == {"raw"}
    bins = replayed["ml.ml_registry_feature_bins"]
    assert set(bins.loc[bins["feature_name"] == "tenure_days", "drift_scale"]) == {"per_log_day"}
    for reason in retrains["decision_reason"]:
        for feature in age_bound:
            if f"{feature} PSI" in reason or f"{feature} (" in reason:
                assert f"{feature} (per day of the log) PSI" in reason
        assert "segments: " in reason  # what the retrain changed, in words


def test_each_retrain_records_what_changed_for_whom(replayed) -> None:
    versions = replayed["ml.ml_model_registry"].set_index("model_version_id")
    migration = replayed["ml.ml_model_migration"]
    later = versions[versions["model_version_number"] > 1]
    assert set(migration["model_version_id"]) == set(later.index)
    for version, flows in migration.groupby("model_version_id"):
        assert flows["customer_count"].sum() == versions.loc[version, "n_customers"]
        assert (
            flows["previous_model_version_id"] == versions.loc[version, "previous_model_version_id"]
        ).all()
        shares = flows.groupby("from_segment_id")["share_of_from_segment"].sum()
        assert shares.round(9).eq(1.0).all()


def test_history_holds_every_customer_of_every_run(replayed) -> None:
    history = replayed["monitoring.mon_assignment_history"]
    runs = replayed["ml.ml_registry_runs"].set_index("run_id")
    counts = history.groupby("run_id")["customer_id"].nunique()
    assert counts.to_dict() == runs["n_customers"].to_dict()
    assert not history.duplicated(["run_id", "customer_id"]).any()


def test_migration_links_consecutive_months(replayed) -> None:
    migration = replayed["monitoring.mon_segment_migration"]
    pairs = sorted(set(zip(migration["from_run_id"], migration["to_run_id"], strict=True)))
    assert pairs == [(run, run + 1) for run in range(1, len(MONTHS))]
    history = replayed["monitoring.mon_assignment_history"]
    for (before, after), group in migration.groupby(["from_run_id", "to_run_id"]):
        earlier = set(history.loc[history["run_id"] == before, "customer_id"])
        later = set(history.loc[history["run_id"] == after, "customer_id"])
        new = group.loc[group["from_segment_id"].isna(), "customer_count"].sum()
        assert new == len(later - earlier) > 0
        assert group["customer_count"].sum() == len(later | earlier)


def test_drift_and_policy_are_measured_for_every_month_after_the_first(replayed) -> None:
    drift = replayed["monitoring.mon_feature_drift"]
    assert sorted(drift["run_id"].unique()) == list(range(2, len(MONTHS) + 1))
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
    assert json.loads(runs.loc[1, "signals_json"])["signals"] is None

"""The maintained model: keep, score, retrain by policy, stable ids (segmentation.registry.runs)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import FAST_SEGMENTATION

from segmentation.benchmark.synthetic import synthetic_customer_features
from segmentation.config.retraining import RetrainingPolicy
from segmentation.config.segmentation import SegmentationSettings
from segmentation.engine.inputs import SegmentationInputError
from segmentation.engine.scoring import score
from segmentation.io.tables import SCHEMAS
from segmentation.registry.artifact import ModelArtifact, kept_artifact
from segmentation.registry.monitoring import feature_drift, retraining_policy
from segmentation.registry.runs import registry_run, settings_changed
from segmentation.registry.tables import (
    current_model,
    current_part,
    model_registry,
    segment_lineage,
)

SETTINGS = SegmentationSettings.from_mapping(FAST_SEGMENTATION)
POLICY = RetrainingPolicy()
PRICE_COLUMNS = ("monetary_amount", "avg_order_value", "avg_unit_price")


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    frame, _ = synthetic_customer_features(700, n_groups=4, random_state=11)
    return frame


@pytest.fixture(scope="module")
def first(features) -> pd.DataFrame:
    return registry_run(features, None, SETTINGS, POLICY)


def _append(runs: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([runs, new], ignore_index=True) if len(new) else runs


def _assignments(features: pd.DataFrame, runs: pd.DataFrame) -> dict[str, int]:
    artifact = kept_artifact(runs)
    scores = score(features, artifact.params, artifact.representatives)
    return dict(zip(scores.customer_ids, scores.segment_ids.tolist(), strict=True))


def test_the_first_build_trains_and_records_the_whole_model(features, first) -> None:
    assert len(first) == 1
    row = first.iloc[0]
    assert row["decision"] == "first_model" and row["is_training_run"]
    assert row["reason_codes"] == "first_model" and row["run_id"] == 1
    model = current_model(first)
    assert model["model_version_number"].tolist() == [1]
    assert model["model_version_id"].iloc[0] == row["model_version_id"]
    reps = current_part(first, "representatives")
    n_segments = int(model["n_segments"].iloc[0])
    assert sorted(reps["segment_id"].unique()) == list(range(1, n_segments + 1))
    lineage = segment_lineage(first)
    assert set(lineage["status"]) == {"first"}
    assert lineage["training_customer_share"].sum() == pytest.approx(1.0)
    assert current_part(first, "candidates")["is_winner"].sum() == 1


def test_scoring_twice_with_unchanged_data_changes_nothing(features, first) -> None:
    again = registry_run(features, first, SETTINGS, POLICY)
    assert len(again) == 0
    # a warehouse that sums floats in another order gives last-bit noise: still unchanged
    noisy = features.assign(monetary_amount=features["monetary_amount"] * (1 + 2e-16))
    assert len(registry_run(noisy, first, SETTINGS, POLICY)) == 0


def test_shuffled_input_is_the_same_run(features, first) -> None:
    shuffled = features.sample(frac=1.0, random_state=4)
    assert len(registry_run(shuffled, first, SETTINGS, POLICY)) == 0


def test_retrain_on_unchanged_data_keeps_every_segment_id(features, first) -> None:
    shuffled = features.sample(frac=1.0, random_state=8)
    new = registry_run(shuffled, first, SETTINGS, POLICY, retrain_requested=True)
    assert new.iloc[0]["decision"] == "retrained" and new.iloc[0]["reason_codes"] == "requested"
    runs = _append(first, new)
    assert model_registry(runs)["model_version_number"].tolist() == [1, 2]
    assert _assignments(features, runs) == _assignments(features, first)
    lineage = segment_lineage(runs)
    second = lineage[lineage["model_version_id"] == new.iloc[0]["model_version_id"]]
    assert set(second["status"]) == {"kept"}
    assert (second["customer_overlap"] == 1.0).all()
    assert second["centroid_distance"].max() < 1e-9
    # with no drift the kept-model signals are all quiet
    rules = retraining_policy(runs)
    quiet = rules[(rules["run_id"] == 2) & (rules["rule_name"] != "requested")]
    assert not quiet["is_triggered"].any()


def test_injected_price_drift_triggers_the_policy_with_the_reason(features, first) -> None:
    drifted = features.copy()
    rng = np.random.default_rng(2)
    newer = rng.random(len(drifted)) < 0.6  # "new months": most customers' prices tripled
    for column in PRICE_COLUMNS:
        drifted.loc[newer, column] = drifted.loc[newer, column] * 3
    new = registry_run(drifted, first, SETTINGS, POLICY)
    row = new.iloc[0]
    assert row["decision"] == "retrained"
    assert "feature_drift" in row["reason_codes"].split(",")
    assert "avg_order_value PSI" in row["decision_reason"]
    runs = _append(first, new)
    version = model_registry(runs).iloc[-1]
    assert "feature_drift" in version["training_reason_codes"]
    drift = feature_drift(runs)
    price = drift[drift["feature_name"] == "avg_order_value"].iloc[0]
    assert price["psi_band"] == "significant" and price["is_above_threshold"]
    assert price["model_version_id"] == first.iloc[0]["model_version_id"]
    assert drift["is_latest_run"].all()


def test_new_segments_get_unused_ids_and_old_ones_are_retired(features, first) -> None:
    more = SegmentationSettings.from_mapping(
        {
            "algorithms": ["kmeans"],
            "kmeans": {"k_min": 7, "k_max": 7, "n_init": 2},
            "selection": {"objective": "separation"},
        }
    )
    new = registry_run(features, first, more, POLICY)
    assert "settings_changed" in new.iloc[0]["reason_codes"]
    runs = _append(first, new)
    lineage = segment_lineage(runs)
    latest = lineage[lineage["model_version_id"] == new.iloc[0]["model_version_id"]]
    old_max = int(model_registry(first)["max_segment_id"].iloc[0])
    fresh = latest[latest["status"] == "new"]
    assert len(fresh) >= 1 and (fresh["segment_id"] > old_max).all()
    kept_or_new = latest[latest["status"] != "retired"]
    assert len(kept_or_new) == 7
    reps = current_part(runs, "representatives")
    assert set(reps["segment_id"]) == set(kept_or_new["segment_id"])
    assert model_registry(runs)["max_segment_id"].iloc[-1] == latest["segment_id"].max()


def test_the_artifact_survives_json_exactly(first) -> None:
    artifact = kept_artifact(first)
    again = ModelArtifact.from_json(artifact.to_json())
    assert again.to_json() == artifact.to_json()
    pd.testing.assert_frame_equal(again.representatives, artifact.representatives)
    payload = json.loads(first.iloc[0]["model_json"])
    assert {"model", "params", "representatives", "bins", "lineage", "migration"} <= set(payload)


def test_a_version_stored_before_drift_scales_is_read_and_compared_as_recorded(
    features, first
) -> None:
    # a registry written by an earlier release: its bins have no drift_scale and its parts no
    # migration; the version still loads, scores, and its drift is compared on the raw values
    payload = json.loads(first.iloc[0]["model_json"])
    for row in payload["bins"]:
        del row["drift_scale"]
    del payload["migration"]
    old = first.assign(model_json=json.dumps(payload, sort_keys=True, separators=(",", ":")))
    artifact = kept_artifact(old)
    assert artifact.bins["drift_scale"].isna().all() and artifact.migration.empty
    aged = features.assign(recency_days=features["recency_days"] + 30)
    new = registry_run(aged, old, SETTINGS, POLICY)
    drift = feature_drift(_append(old, new))
    assert set(drift["drift_scale"]) == {"raw"}
    per_day = feature_drift(_append(first, registry_run(aged, first, SETTINGS, POLICY)))
    assert set(per_day.loc[per_day["feature_name"] == "recency_days", "drift_scale"]) == {
        "per_log_day"
    }


def test_unscorable_settings_and_empty_input() -> None:
    features, _ = synthetic_customer_features(60, n_groups=2, random_state=1)
    quantile = SegmentationSettings.from_mapping({"scaler": "quantile"})
    with pytest.raises(SegmentationInputError, match="quantile"):
        registry_run(features, None, quantile, POLICY)
    empty = registry_run(features.iloc[:0], None, SETTINGS, POLICY)
    assert len(empty) == 0 and list(empty.columns) == list(SCHEMAS["ml_registry_runs"])
    assert len(current_model(None)) == 0
    assert len(feature_drift(None)) == 0


def test_a_setting_added_since_a_version_was_stored_is_no_change() -> None:
    settings = SegmentationSettings.from_mapping({"kmeans": {"k_max": 6}})
    stored = json.loads(settings.to_json())
    del stored["categorical_attributes"]  # as stored before the setting existed
    assert not settings_changed(settings, json.dumps(stored))
    assert settings_changed(settings, SegmentationSettings.from_mapping({}).to_json())
    stored["retired_setting"] = 1  # a key since removed: the stored settings no longer read
    assert settings_changed(settings, json.dumps(stored))
    assert settings_changed(settings, None)

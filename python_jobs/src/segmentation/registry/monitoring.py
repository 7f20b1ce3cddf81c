"""Monitoring tables from the run log: per run, the drift of every feature, the segment sizes
and every rule of the retraining policy, as measured against the model kept before the run."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from segmentation.config.retraining import RetrainingPolicy
from segmentation.registry.artifact import records_frame, sorted_runs
from segmentation.registry.drift import RAW, counts_for_policy


def _run_signals(runs: pd.DataFrame | None) -> list[tuple[pd.Series, dict[str, Any], bool]]:
    runs = sorted_runs(runs)
    latest = int(runs["run_id"].max()) if len(runs) else None
    return [
        (row, json.loads(row["signals_json"] or "{}"), int(row["run_id"]) == latest)
        for _, row in runs.iterrows()
    ]


def feature_drift(runs: pd.DataFrame | None) -> pd.DataFrame:
    """mon_feature_drift: PSI per run and feature of the model kept before the run."""
    rows = []
    for run, payload, latest in _run_signals(runs):
        signals = payload.get("signals") or {}
        policy = RetrainingPolicy.from_mapping(run["policy_json"])
        for item in signals.get("feature_psi") or []:
            rows.append(
                {
                    "run_id": run["run_id"],
                    "as_of_date": run["as_of_date"],
                    "model_version_id": run["incumbent_model_version_id"],
                    "feature_name": item["feature_name"],
                    "psi": item["psi"],
                    "psi_band": item["psi_band"],
                    "max_feature_psi": policy.max_feature_psi,
                    "is_above_threshold": item["psi"] > policy.max_feature_psi,
                    "counts_for_policy": counts_for_policy(item["feature_name"], policy),
                    "n_bins": item["n_bins"],
                    "drift_scale": item.get("drift_scale") or RAW,
                    "is_latest_run": latest,
                }
            )
    return records_frame(rows, "mon_feature_drift")


def segment_size_drift(runs: pd.DataFrame | None) -> pd.DataFrame:
    """mon_segment_size_drift: per run and segment, training vs current share."""
    rows = []
    for run, payload, latest in _run_signals(runs):
        signals = payload.get("signals") or {}
        for item in signals.get("segment_sizes") or []:
            rows.append(
                {
                    "run_id": run["run_id"],
                    "as_of_date": run["as_of_date"],
                    "model_version_id": run["incumbent_model_version_id"],
                    **item,
                    "share_change": item["current_share"] - item["training_share"],
                    "segment_size_psi": signals.get("segment_size_psi"),
                    "is_latest_run": latest,
                }
            )
    return records_frame(rows, "mon_segment_size_drift")


def retraining_policy(runs: pd.DataFrame | None) -> pd.DataFrame:
    """mon_retraining_policy: per run, every rule of the policy, its figures and outcome."""
    rows = []
    for run, payload, latest in _run_signals(runs):
        for item in payload.get("rules") or []:
            rows.append(
                {
                    "run_id": run["run_id"],
                    "as_of_date": run["as_of_date"],
                    "model_version_id": run["incumbent_model_version_id"],
                    "decision": run["decision"],
                    **item,
                    "is_latest_run": latest,
                }
            )
    return records_frame(rows, "mon_retraining_policy")

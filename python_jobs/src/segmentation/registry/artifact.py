"""One model version as data (:class:`ModelArtifact`), and reading versions back from the run
log ``ml_registry_runs``, where every training run stores its artifact as JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from segmentation.io import tables
from segmentation.io.tables import conform, empty
from segmentation.io.values import json_ready

ARTIFACT_FORMAT = 1


class RegistryError(ValueError):
    """The registry log is inconsistent (e.g. a run names a version nobody trained)."""


@dataclass
class ModelArtifact:
    """Everything needed to score with, describe and compare one model version."""

    model: dict[str, Any]  # one row of ml_model_registry
    params: pd.DataFrame  # ml_feature_transform_params columns
    representatives: pd.DataFrame  # ml_segment_representatives columns
    bins: pd.DataFrame  # ml_registry_feature_bins columns
    lineage: pd.DataFrame  # ml_segment_lineage columns
    candidates: pd.DataFrame  # ml_model_candidates columns
    agreement: pd.DataFrame  # ml_algorithm_agreement columns
    migration: pd.DataFrame  # ml_model_migration columns (empty for a first model)

    _PARTS = {
        "params": "ml_feature_transform_params",
        "representatives": "ml_segment_representatives",
        "bins": "ml_registry_feature_bins",
        "lineage": "ml_segment_lineage",
        "candidates": "ml_model_candidates",
        "agreement": "ml_algorithm_agreement",
        "migration": "ml_model_migration",
    }

    @property
    def version(self) -> str:
        return str(self.model["model_version_id"])

    @property
    def training_shares(self) -> dict[int, float]:
        kept = self.lineage[self.lineage["status"] != "retired"]
        return {
            int(row.segment_id): float(row.training_customer_share)
            for row in kept.itertuples(index=False)
        }

    def to_json(self) -> str:
        """Canonical JSON; floats keep every digit (Python's repr), so scores do not move."""
        payload = {"format": ARTIFACT_FORMAT, "model": json_row(self.model)}
        for part in self._PARTS:
            payload[part] = records(getattr(self, part))
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> ModelArtifact:
        payload = json.loads(text)
        if payload.get("format") != ARTIFACT_FORMAT:
            raise RegistryError(f"model_json has format {payload.get('format')!r}; expected 1")
        # read by column name: a column added to a part since the version was stored is null
        parts = {
            part: conform(payload.get(part) or [], table) for part, table in cls._PARTS.items()
        }
        return cls(model=dict(payload["model"]), **parts)


def sorted_runs(runs: pd.DataFrame | None) -> pd.DataFrame:
    """The run log in run order (typed and empty when there is none)."""
    if runs is None or len(runs) == 0:
        return empty("ml_registry_runs")
    missing = [name for name in tables.SCHEMAS["ml_registry_runs"] if name not in runs.columns]
    if missing:
        raise RegistryError(f"ml_registry_runs lacks column(s) {missing}")
    return runs.sort_values("run_id", kind="stable").reset_index(drop=True)


def training_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs that trained a version."""
    return runs[runs["is_training_run"].astype(bool)]


def artifacts(runs: pd.DataFrame | None) -> list[tuple[int, ModelArtifact]]:
    """(run id, artifact) of every training run, oldest first."""
    runs = sorted_runs(runs)
    return [
        (int(row.run_id), ModelArtifact.from_json(row.model_json))
        for row in training_runs(runs).itertuples(index=False)
    ]


def kept_artifact(runs: pd.DataFrame | None) -> ModelArtifact | None:
    """The model kept after the latest run (None for an empty registry)."""
    runs = sorted_runs(runs)
    if len(runs) == 0:
        return None
    version = runs.iloc[-1]["model_version_id"]
    trained = training_runs(runs)
    rows = trained[trained["model_version_id"] == version]
    if len(rows) == 0:
        raise RegistryError(f"ml_registry_runs keeps {version}, but no run trained it")
    return ModelArtifact.from_json(rows.iloc[-1]["model_json"])


def concat(frames: list[pd.DataFrame], table: str) -> pd.DataFrame:
    """The non-empty ``frames`` stacked as ``table`` (empty and typed when there are none)."""
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return empty(table)
    return conform(pd.concat(frames, ignore_index=True), table)


def records_frame(records: list[dict[str, Any]], table: str) -> pd.DataFrame:
    """``records`` as ``table`` (empty and typed when there are none)."""
    if not records:
        return empty(table)
    return conform(pd.DataFrame(records), table)


def json_row(values: Mapping[str, Any]) -> dict[str, Any]:
    """A row with every value JSON can hold."""
    return {str(key): json_ready(value) for key, value in values.items()}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready rows."""
    return [json_row(row) for row in frame.to_dict("records")]

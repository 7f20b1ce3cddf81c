"""The registry's tables as the dbt models return them, read from the run log: every version
ever trained, and the parts of the version kept after the latest run."""

from __future__ import annotations

import pandas as pd

from segmentation.io.tables import conform, empty
from segmentation.registry.artifact import ModelArtifact, artifacts, concat, kept_artifact


def model_registry(runs: pd.DataFrame | None) -> pd.DataFrame:
    """ml_model_registry: one row per model version ever trained."""
    rows = [pd.DataFrame([artifact.model]) for _, artifact in artifacts(runs)]
    return concat(rows, "ml_model_registry")


def registry_transform_params(runs: pd.DataFrame | None) -> pd.DataFrame:
    """ml_registry_transform_params: the transform of every version, per feature."""
    frames = [a.params.assign(model_version_id=a.version) for _, a in artifacts(runs)]
    return concat(frames, "ml_registry_transform_params")


def registry_representatives(runs: pd.DataFrame | None) -> pd.DataFrame:
    """ml_registry_representatives: every version's representatives."""
    return concat([a.representatives for _, a in artifacts(runs)], "ml_registry_representatives")


def registry_feature_bins(runs: pd.DataFrame | None) -> pd.DataFrame:
    """ml_registry_feature_bins: every version's training bins (the PSI reference)."""
    return concat([a.bins for _, a in artifacts(runs)], "ml_registry_feature_bins")


def segment_lineage(runs: pd.DataFrame | None) -> pd.DataFrame:
    """ml_segment_lineage: per version, its segments (first/kept/new) and the retired ones."""
    return concat([a.lineage for _, a in artifacts(runs)], "ml_segment_lineage")


def model_migration(runs: pd.DataFrame | None) -> pd.DataFrame:
    """ml_model_migration: per retrain, customers from each segment of the replaced model to
    each segment of the new one (both scoring the new version's training customers)."""
    return concat([a.migration for _, a in artifacts(runs)], "ml_model_migration")


def current_model(runs: pd.DataFrame | None) -> pd.DataFrame:
    """ml_segment_model: the kept model's record (one row; none for an empty registry)."""
    artifact = kept_artifact(runs)
    if artifact is None:
        return empty("ml_model_registry")
    return conform(pd.DataFrame([artifact.model]), "ml_model_registry")


def current_part(runs: pd.DataFrame | None, part: str) -> pd.DataFrame:
    """One part of the kept model (params, representatives, candidates or agreement)."""
    table = ModelArtifact._PARTS[part]
    artifact = kept_artifact(runs)
    if artifact is None:
        return empty(table)
    return conform(getattr(artifact, part), table)

"""The model registry: the kept segmentation model as data, maintained run after run.

One table is the source of truth, ``ml_registry_runs`` (an incremental dbt model that is never
rebuilt, ``full_refresh: false``): one row per scoring run. Each row records the retraining
policy's signals and decision for that run and the model version kept after it; a run that
trained a version also carries the whole fitted model as JSON (:class:`ModelArtifact`: the
model record, transform parameters, representatives, training bins for drift, segment lineage,
candidates and algorithm agreement). Every other registry and monitoring table is a function of
that log (:func:`model_registry`, :func:`current_model`, :func:`feature_drift`, ...), so a
rebuild of those tables never loses anything.

:func:`registry_run` is what a build does, given the customers and the log so far:

1. a run whose inputs (customer features, settings, policy and the ``retrain`` flag) equal the
   latest run's adds nothing: scoring twice with unchanged data changes nothing;
2. otherwise the kept model (the latest run's version) is measured against the current
   customers (:mod:`segmentation.registry.drift`) and the policy decides;
3. on retrain (or with an empty registry) the candidates are searched and the winner fitted
   (:mod:`segmentation.engine.fit`, the expensive part, which runs only here); its segments are
   matched to the kept model's (:func:`segmentation.engine.scoring.match_segments`) so that a
   segment keeps its id while it is the same group of customers; new segments get ids never used
   before, and retired ones are reported;
4. one row is returned for dbt to append.

The kept model scores customers from its tables (SQL in ``ml_customer_assignments``, or
:mod:`segmentation.engine.scoring`), so the maintained model must be scorable that way: the
standard or robust scaler and no PCA (the quantile scaler and PCA stay available to
:func:`segmentation.engine.fit.run_segmentation` for exploration).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist
from sklearn.metrics import adjusted_rand_score

from segmentation.config.retraining import RetrainingPolicy
from segmentation.config.segmentation import SegmentationSettings
from segmentation.engine import fit as engine
from segmentation.engine import scoring
from segmentation.engine.fit import SegmentationInputError
from segmentation.io import tables
from segmentation.io.tables import conform, empty
from segmentation.registry.drift import (
    Decision,
    Signals,
    counts_for_policy,
    decide,
    feature_psi_rows,
    profile_rows,
    segment_size_rows,
)

ARTIFACT_FORMAT = 1


class RegistryError(ValueError):
    """The registry log is inconsistent (e.g. a run names a version nobody trained)."""


# -- the fitted model as data ----------------------------------------------------------------


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

    _PARTS = {
        "params": "ml_feature_transform_params",
        "representatives": "ml_segment_representatives",
        "bins": "ml_registry_feature_bins",
        "lineage": "ml_segment_lineage",
        "candidates": "ml_model_candidates",
        "agreement": "ml_algorithm_agreement",
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
        payload = {"format": ARTIFACT_FORMAT, "model": _plain_dict(self.model)}
        for part in self._PARTS:
            payload[part] = _records(getattr(self, part))
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> ModelArtifact:
        payload = json.loads(text)
        if payload.get("format") != ARTIFACT_FORMAT:
            raise RegistryError(f"model_json has format {payload.get('format')!r}; expected 1")
        parts = {part: _frame(payload.get(part) or [], table) for part, table in cls._PARTS.items()}
        return cls(model=dict(payload["model"]), **parts)


# -- the run ---------------------------------------------------------------------------------


def registry_run(
    features: pd.DataFrame,
    previous_runs: pd.DataFrame | None,
    settings: SegmentationSettings,
    policy: RetrainingPolicy,
    retrain_requested: bool = False,
    now: dt.datetime | None = None,
) -> pd.DataFrame:
    """The row(s) to append to ml_registry_runs for this build: none or one (see module doc)."""
    features = engine.canonical(features)
    if features.empty:
        return empty("ml_registry_runs")
    require_scorable(settings)
    runs = _sorted_runs(previous_runs)
    fingerprint = engine.input_fingerprint(
        features, settings, policy.to_json(), f"retrain={bool(retrain_requested)}"
    )
    if len(runs) and runs.iloc[-1]["input_fingerprint"] == fingerprint:
        return empty("ml_registry_runs")
    incumbent = kept_artifact(runs)
    signals = measure(features, incumbent, settings, policy) if incumbent is not None else None
    decision = decide(signals, policy, bool(retrain_requested))
    run_id = int(runs["run_id"].max()) + 1 if len(runs) else 1
    artifact = None
    if decision.retrain:
        number = int(_training_runs(runs)["run_id"].size) + 1
        artifact = train_version(features, settings, policy, incumbent, run_id, number, decision)
    kept = artifact or incumbent
    assert kept is not None  # decide() always retrains without an incumbent
    row = {
        "run_id": run_id,
        "as_of_date": as_of_date(features),
        "decision": ("first_model" if incumbent is None else "retrained")
        if decision.retrain
        else "kept",
        "is_training_run": artifact is not None,
        "model_version_id": kept.version,
        "incumbent_model_version_id": None if incumbent is None else incumbent.version,
        "reason_codes": ",".join(decision.codes),
        "decision_reason": decision.reason,
        "retrain_requested": bool(retrain_requested),
        "n_customers": len(features),
        "input_fingerprint": fingerprint,
        "settings_json": settings.to_json(),
        "policy_json": policy.to_json(),
        "signals_json": json.dumps(
            {
                "signals": None if signals is None else _plain_value(signals.to_dict()),
                "rules": _plain_value(list(decision.rules)),
            },
            sort_keys=True,
            allow_nan=False,
        ),
        "model_json": None if artifact is None else artifact.to_json(),
        "created_at": (now or dt.datetime.now(dt.UTC)).replace(tzinfo=None),
    }
    return conform(pd.DataFrame([row]), "ml_registry_runs")


def require_scorable(settings: SegmentationSettings) -> None:
    """Refuse settings whose model could not be scored from its tables (quantile, PCA)."""
    prep = settings.preparation
    if prep.scaler == "quantile" or prep.pca_components is not None:
        raise SegmentationInputError(
            "the maintained model is scored from its tables (in SQL), which the quantile scaler "
            "and PCA do not allow: set segmentation.scaler to standard or robust and "
            "segmentation.pca_components to null (both remain available to "
            "segmentation.engine.fit.run_segmentation for exploration)"
        )


def as_of_date(features: pd.DataFrame) -> dt.date | None:
    """The single as-of date of the feature rows (None when the column is absent)."""
    if "as_of_date" not in features.columns:
        return None
    values = features["as_of_date"].dropna().unique()
    if len(values) > 1:
        raise SegmentationInputError(
            f"fct_customer_features mixes {len(values)} as_of_date values; expected one"
        )
    return pd.Timestamp(values[0]).date() if len(values) else None


def measure(
    features: pd.DataFrame,
    incumbent: ModelArtifact,
    settings: SegmentationSettings,
    policy: RetrainingPolicy,
) -> Signals:
    """The policy's signals for the kept model ``incumbent`` on the current customers."""
    features = engine.canonical(features)
    model = incumbent.model
    changed = settings.to_json() != model.get("settings_json")
    age = None
    now, trained = as_of_date(features), _date(model.get("as_of_date"))
    if now is not None and trained is not None:
        age = (now - trained).days
    try:
        scores = scoring.score(features, incumbent.params, incumbent.representatives)
        current = {
            str(row["feature_name"]): scoring.imputed_values(features, row)
            for _, row in scoring.used_params(incumbent.params).iterrows()
        }
    except scoring.ScoringError as error:
        return Signals([], [], None, None, age, changed, unusable_reason=str(error))
    feature_rows = feature_psi_rows(incumbent.bins, current)
    size_rows, size_psi = segment_size_rows(incumbent.training_shares, scores.segment_ids)
    return Signals(
        feature_psi=feature_rows,
        segment_sizes=size_rows,
        segment_size_psi=size_psi,
        stability_ari=_stability(features, incumbent, scores, policy),
        model_age_days=age,
        settings_changed=changed,
    )


def _stability(
    features: pd.DataFrame,
    incumbent: ModelArtifact,
    scores: scoring.Scores,
    policy: RetrainingPolicy,
) -> float | None:
    """ARI between the kept model's assignments and a fresh fit of its algorithm/parameters."""
    try:
        kept_settings = SegmentationSettings.from_mapping(incumbent.model["settings_json"])
        labels = engine.refit_labels(
            features,
            kept_settings,
            str(incumbent.model["candidate_id"]),
            policy.stability_sample_size,
        )
    except ValueError:  # e.g. a column the kept settings need is gone
        return None
    if labels is None:
        return None
    return float(adjusted_rand_score(scores.segment_ids, labels))


def train_version(
    features: pd.DataFrame,
    settings: SegmentationSettings,
    policy: RetrainingPolicy,
    incumbent: ModelArtifact | None,
    run_id: int,
    version_number: int,
    decision: Decision,
) -> ModelArtifact:
    """Search the candidates, fit the winner and give its segments their stable ids."""
    features = engine.canonical(features)
    result = engine.run_segmentation(features, settings)
    params, reps = result.params, result.representatives
    provisional = scoring.score(features, params, reps)
    new_ids = np.unique(reps["segment_id"].to_numpy(dtype=np.int64))
    match = _match(features, params, reps, provisional, new_ids, incumbent, policy)
    to_stable = match.new_to_stable
    stable_ids = np.array([to_stable[int(i)] for i in provisional.segment_ids], dtype=np.int64)

    base = result.model.iloc[0].to_dict()
    lineage = pd.DataFrame(match.rows)
    counts = pd.Series(stable_ids).value_counts()
    lineage["training_customer_count"] = [
        int(counts.get(s, 0)) if status != "retired" else None
        for s, status in zip(lineage["segment_id"], lineage["status"], strict=True)
    ]
    lineage["training_customer_share"] = [
        c / len(features) if c is not None else None for c in lineage["training_customer_count"]
    ]
    digest = hashlib.sha256(
        json.dumps([base["model_version_id"], sorted(to_stable.items())]).encode()
    ).hexdigest()[:8]
    dated = base["as_of_date"] or "undated"
    version = f"v{version_number:04d}-{dated}-{base['algorithm']}-{digest}"
    previous = None if incumbent is None else incumbent.version
    lineage["model_version_id"] = version
    lineage["previous_model_version_id"] = previous
    statuses = lineage["status"].tolist()
    max_id = max([int(stable_ids.max()), *([] if incumbent is None else [_max_id(incumbent)])])
    model = {
        **base,
        "model_version_id": version,
        "n_segments": int(new_ids.size),
        "model_version_number": version_number,
        "previous_model_version_id": previous,
        "trained_in_run_id": run_id,
        "training_reason_codes": ",".join(decision.codes),
        "training_reason": decision.reason,
        "segments_kept": statuses.count("kept"),
        "segments_new": statuses.count("new") + statuses.count("first"),
        "segments_retired": statuses.count("retired"),
        "max_segment_id": max_id,
    }
    reps = reps.assign(
        model_version_id=version,
        segment_id=reps["segment_id"].map(lambda s: to_stable[int(s)]).astype("int64"),
    ).sort_values(["segment_id", "feature_name"], kind="stable")
    values = {
        str(row["feature_name"]): scoring.imputed_values(features, row)
        for _, row in scoring.used_params(params).iterrows()
    }
    bins = pd.DataFrame(profile_rows(values, policy.psi_bins)).assign(model_version_id=version)
    artifact = ModelArtifact(
        model=_plain_dict(conform(pd.DataFrame([model]), "ml_model_registry").iloc[0].to_dict()),
        params=params,
        representatives=conform(reps, "ml_segment_representatives"),
        bins=conform(bins, "ml_registry_feature_bins"),
        lineage=conform(lineage, "ml_segment_lineage"),
        candidates=result.candidates,
        agreement=result.agreement,
    )
    # what is stored is what later runs read: go through JSON once so both are the same
    return ModelArtifact.from_json(artifact.to_json())


def _match(
    features: pd.DataFrame,
    params: pd.DataFrame,
    reps: pd.DataFrame,
    provisional: scoring.Scores,
    new_ids: np.ndarray,
    incumbent: ModelArtifact | None,
    policy: RetrainingPolicy,
) -> scoring.SegmentMatch:
    none = np.empty(0, dtype=np.int64)
    if incumbent is None:
        return scoring.match_segments(
            np.empty((0, new_ids.size)), np.empty((0, new_ids.size)), none, new_ids, 1.0, 1
        )
    next_id = _max_id(incumbent) + 1
    try:
        old = scoring.score(features, incumbent.params, incumbent.representatives)
    except scoring.ScoringError:  # the kept model cannot score these customers: all new
        return scoring.match_segments(
            np.empty((0, new_ids.size)), np.empty((0, new_ids.size)), none, new_ids, 1.0, next_id
        )
    old_reps = incumbent.representatives
    old_ids = np.unique(old_reps["segment_id"].to_numpy(dtype=np.int64))
    original = old_reps.pivot_table(
        index="segment_id", columns="feature_name", values="value_original", aggfunc="first"
    ).reindex(old_ids)
    mapped, names = scoring.map_points(original, params)
    if names:
        _, new_centres = scoring.representative_matrix(reps, names)
        distance = cdist(mapped, new_centres)
    else:
        distance = np.full((old_ids.size, new_ids.size), np.nan)
    overlap = scoring.jaccard_matrix(old.segment_ids, provisional.segment_ids, old_ids, new_ids)
    return scoring.match_segments(
        distance, overlap, old_ids, new_ids, policy.min_segment_overlap, next_id
    )


def _max_id(artifact: ModelArtifact) -> int:
    value = artifact.model.get("max_segment_id")
    if value is None or pd.isna(value):
        return int(artifact.representatives["segment_id"].max())
    return int(value)


# -- reading the log -------------------------------------------------------------------------


def _sorted_runs(runs: pd.DataFrame | None) -> pd.DataFrame:
    if runs is None or len(runs) == 0:
        return empty("ml_registry_runs")
    missing = [name for name in tables.SCHEMAS["ml_registry_runs"] if name not in runs.columns]
    if missing:
        raise RegistryError(f"ml_registry_runs lacks column(s) {missing}")
    return runs.sort_values("run_id", kind="stable").reset_index(drop=True)


def _training_runs(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["is_training_run"].astype(bool)]


def artifacts(runs: pd.DataFrame | None) -> list[tuple[int, ModelArtifact]]:
    """(run id, artifact) of every training run, oldest first."""
    runs = _sorted_runs(runs)
    return [
        (int(row.run_id), ModelArtifact.from_json(row.model_json))
        for row in _training_runs(runs).itertuples(index=False)
    ]


def kept_artifact(runs: pd.DataFrame | None) -> ModelArtifact | None:
    """The model kept after the latest run (None for an empty registry)."""
    runs = _sorted_runs(runs)
    if len(runs) == 0:
        return None
    version = runs.iloc[-1]["model_version_id"]
    trained = _training_runs(runs)
    rows = trained[trained["model_version_id"] == version]
    if len(rows) == 0:
        raise RegistryError(f"ml_registry_runs keeps {version}, but no run trained it")
    return ModelArtifact.from_json(rows.iloc[-1]["model_json"])


def _concat(frames: list[pd.DataFrame], table: str) -> pd.DataFrame:
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return empty(table)
    return conform(pd.concat(frames, ignore_index=True), table)


def model_registry(runs: pd.DataFrame | None) -> pd.DataFrame:
    """ml_model_registry: one row per model version ever trained."""
    rows = [pd.DataFrame([artifact.model]) for _, artifact in artifacts(runs)]
    return _concat(rows, "ml_model_registry")


def registry_transform_params(runs: pd.DataFrame | None) -> pd.DataFrame:
    """ml_registry_transform_params: the transform of every version, per feature."""
    frames = [a.params.assign(model_version_id=a.version) for _, a in artifacts(runs)]
    return _concat(frames, "ml_registry_transform_params")


def registry_representatives(runs: pd.DataFrame | None) -> pd.DataFrame:
    """ml_registry_representatives: every version's representatives."""
    return _concat([a.representatives for _, a in artifacts(runs)], "ml_registry_representatives")


def registry_feature_bins(runs: pd.DataFrame | None) -> pd.DataFrame:
    """ml_registry_feature_bins: every version's training bins (the PSI reference)."""
    return _concat([a.bins for _, a in artifacts(runs)], "ml_registry_feature_bins")


def segment_lineage(runs: pd.DataFrame | None) -> pd.DataFrame:
    """ml_segment_lineage: per version, its segments (first/kept/new) and the retired ones."""
    return _concat([a.lineage for _, a in artifacts(runs)], "ml_segment_lineage")


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


# -- monitoring ------------------------------------------------------------------------------


def _run_signals(runs: pd.DataFrame | None) -> list[tuple[pd.Series, dict[str, Any], bool]]:
    runs = _sorted_runs(runs)
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
                    "is_latest_run": latest,
                }
            )
    return _frame(rows, "mon_feature_drift")


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
    return _frame(rows, "mon_segment_size_drift")


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
    return _frame(rows, "mon_retraining_policy")


# -- plain values ----------------------------------------------------------------------------


def _frame(records: list[dict[str, Any]], table: str) -> pd.DataFrame:
    if not records:
        return empty(table)
    return conform(pd.DataFrame(records), table)


def _plain_value(value: Any) -> Any:
    """JSON-safe: NaN -> None, numpy scalars -> Python, dates -> ISO text."""
    if isinstance(value, Mapping):
        return {str(k): _plain_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_value(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _plain_dict(values: Mapping[str, Any]) -> dict[str, Any]:
    return {str(key): _plain_value(value) for key, value in values.items()}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [_plain_dict(row) for row in frame.to_dict("records")]


def _date(value: Any) -> dt.date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()

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
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist
from sklearn.metrics import adjusted_rand_score

from segmentation.config.retraining import RetrainingPolicy
from segmentation.config.segmentation import SegmentationSettings
from segmentation.engine import fit as engine
from segmentation.engine import scoring
from segmentation.engine.inputs import (
    SegmentationInputError,
    as_of_date,
    canonical,
    input_fingerprint,
)
from segmentation.io.tables import conform, empty
from segmentation.io.values import json_ready
from segmentation.registry.artifact import (
    ModelArtifact,
    json_row,
    kept_artifact,
    sorted_runs,
    training_runs,
)
from segmentation.registry.drift import (
    Decision,
    Signals,
    decide,
    feature_psi_rows,
    log_age_days,
    profile_rows,
    segment_size_rows,
)
from segmentation.registry.migration import change_summary, migration_rows

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
    features = canonical(features)
    if features.empty:
        return empty("ml_registry_runs")
    require_scorable(settings)
    runs = sorted_runs(previous_runs)
    fingerprint = input_fingerprint(
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
        number = int(training_runs(runs)["run_id"].size) + 1
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
        "decision_reason": decision.reason if artifact is None else kept.model["training_reason"],
        "retrain_requested": bool(retrain_requested),
        "n_customers": len(features),
        "input_fingerprint": fingerprint,
        "settings_json": settings.to_json(),
        "policy_json": policy.to_json(),
        "signals_json": json.dumps(
            {
                "signals": None if signals is None else json_ready(signals.to_dict()),
                "rules": json_ready(list(decision.rules)),
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


def measure(
    features: pd.DataFrame,
    incumbent: ModelArtifact,
    settings: SegmentationSettings,
    policy: RetrainingPolicy,
) -> Signals:
    """The policy's signals for the kept model ``incumbent`` on the current customers."""
    features = canonical(features)
    model = incumbent.model
    changed = settings_changed(settings, model.get("settings_json"))
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
    try:
        feature_rows = feature_psi_rows(incumbent.bins, current, log_age_days(features))
    except ValueError as error:
        return Signals([], [], None, None, age, changed, unusable_reason=str(error))
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
    """Search the candidates, fit the winner and give its segments their stable ids.

    With unchanged settings the kept model's number of segments is kept while it is stable
    (:func:`segmentation.engine.actionable.choose_actionable`, rule 5)."""
    features = canonical(features)
    result = engine.run_segmentation(features, settings, _preferred_segments(incumbent, settings))
    params, reps = result.params, result.representatives
    provisional = scoring.score(features, params, reps)
    new_ids = np.unique(reps["segment_id"].to_numpy(dtype=np.int64))
    previous_ids = _previous_segments(features, incumbent)
    match = _match(params, reps, provisional, new_ids, incumbent, policy, previous_ids)
    to_stable = match.new_to_stable
    stable_ids = np.array([to_stable[int(i)] for i in provisional.segment_ids], dtype=np.int64)
    migration = [] if previous_ids is None else migration_rows(previous_ids, stable_ids)
    changes = change_summary(match.rows, migration)

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
        "training_reason": "; ".join(filter(None, [decision.reason, changes])),
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
    bins = pd.DataFrame(
        profile_rows(values, policy.psi_bins, policy, log_age_days(features))
    ).assign(model_version_id=version)
    artifact = ModelArtifact(
        model=json_row(conform(pd.DataFrame([model]), "ml_model_registry").iloc[0].to_dict()),
        params=params,
        representatives=conform(reps, "ml_segment_representatives"),
        bins=conform(bins, "ml_registry_feature_bins"),
        lineage=conform(lineage, "ml_segment_lineage"),
        migration=conform(
            [
                {**row, "model_version_id": version, "previous_model_version_id": previous}
                for row in migration
            ],
            "ml_model_migration",
        ),
        candidates=result.candidates,
        agreement=result.agreement,
    )
    # what is stored is what later runs read: go through JSON once so both are the same
    return ModelArtifact.from_json(artifact.to_json())


def settings_changed(settings: SegmentationSettings, stored: str | None) -> bool:
    """True when ``settings`` differ from a version's stored settings. The stored ones are read
    with today's defaults, so a setting added since (stored without it, taking its default)
    is no change; settings that no longer read (a key since removed) are one."""
    if not stored:
        return True
    try:
        return settings.to_json() != SegmentationSettings.from_mapping(stored).to_json()
    except ValueError:
        return True


def _preferred_segments(
    incumbent: ModelArtifact | None, settings: SegmentationSettings
) -> int | None:
    """The kept model's number of segments, unless there is none or the settings changed (a
    new setting, e.g. target_segments, is the user's word on the number of segments)."""
    if incumbent is None or settings_changed(settings, incumbent.model.get("settings_json")):
        return None
    value = incumbent.model.get("n_segments")
    return None if value is None or pd.isna(value) else int(value)


def _previous_segments(
    features: pd.DataFrame, incumbent: ModelArtifact | None
) -> np.ndarray | None:
    """The kept model's segment per customer (None without one, or when it cannot score them)."""
    if incumbent is None:
        return None
    try:
        return scoring.score(features, incumbent.params, incumbent.representatives).segment_ids
    except scoring.ScoringError:
        return None


def _match(
    params: pd.DataFrame,
    reps: pd.DataFrame,
    provisional: scoring.Scores,
    new_ids: np.ndarray,
    incumbent: ModelArtifact | None,
    policy: RetrainingPolicy,
    previous_ids: np.ndarray | None,
) -> scoring.SegmentMatch:
    none = np.empty(0, dtype=np.int64)
    if incumbent is None:
        return scoring.match_segments(
            np.empty((0, new_ids.size)), np.empty((0, new_ids.size)), none, new_ids, 1.0, 1
        )
    next_id = _max_id(incumbent) + 1
    if previous_ids is None:  # the kept model cannot score these customers: all new
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
    overlap = scoring.jaccard_matrix(previous_ids, provisional.segment_ids, old_ids, new_ids)
    return scoring.match_segments(
        distance, overlap, old_ids, new_ids, policy.min_segment_overlap, next_id
    )


def _max_id(artifact: ModelArtifact) -> int:
    value = artifact.model.get("max_segment_id")
    if value is None or pd.isna(value):
        return int(artifact.representatives["segment_id"].max())
    return int(value)


def _date(value: Any) -> dt.date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()

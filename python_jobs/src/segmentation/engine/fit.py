"""The clustering engine end to end: fit a segmentation from customer features.

Chain (the tables of one fit, as the kept model records them):

- :func:`transform_params`      fct_customer_features -> ml_feature_transform_params
- :func:`model_candidates`      + params -> ml_model_candidates (metrics, is_winner, reason)
- :func:`algorithm_agreement`   + params, candidates -> ml_algorithm_agreement (ARI pairs)
- :func:`segment_model`         + params, candidates -> ml_segment_model (one row)
- :func:`segment_representatives` -> ml_segment_representatives (segment x feature)
- :func:`customer_assignments`  -> ml_customer_assignments (every customer exactly once)

In dbt these run only when the model registry trains a version
(:func:`segmentation.registry.runs.registry_run` calls :func:`run_segmentation`); an
ordinary build scores customers with the kept model in SQL. :func:`refit_labels` (a fresh fit of
the kept algorithm, for the stability signal) serves the registry too; what a fit reads and how
runs recognise the same input is in :mod:`segmentation.engine.inputs`.

The winner is named by the candidates table (its ``is_winner`` row), never re-decided
downstream. Downstream steps need the winner's partition again; it is deterministic for the same
data, settings and seed, and memoised in-process (dbt-duckdb runs every Python model in the dbt
process), so one ``dbt build`` fits each candidate once.

Rows are put in ``customer_id`` order before anything is fitted, so the result does not depend
on the order in which the warehouse returns them.

Edge cases (documented results, each tested):

- no customers (e.g. ``dbt build --empty``): every table is returned empty with its columns;
- fewer customers than ``min_segments + 1``: :class:`SegmentationInputError` naming the count;
- fewer customers than a candidate's k: that candidate is ``skipped`` with the reason;
- a zero-variance feature: left out, reason in the params table;
- NaN / infinite values: :class:`segmentation.engine.prepare.FeatureInputError` naming column
  and ids;
- DBSCAN labelling everything as noise: that candidate ``failed`` with the reason, never wins.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from segmentation.config.segmentation import SegmentationSettings
from segmentation.engine.actionable import choose_actionable, segment_stability
from segmentation.engine.algorithms import (
    FIT_THREADS,
    NOISE,
    CandidateSpec,
    Partition,
    candidate_grid,
    deployed_labels,
    fit_candidate,
    map_fits,
)
from segmentation.engine.environment import package_versions
from segmentation.engine.inputs import (
    MONETARY_COLUMN,
    SegmentationInputError,
    as_of_date,
    cached,
    canonical,
    fingerprint,
    memoised,
    model_inputs,
)
from segmentation.engine.prepare import ID_COLUMN, FeaturePreparer
from segmentation.engine.selection import (
    SilhouetteSample,
    agreement_frame,
    best_per_algorithm,
    candidates_frame,
    choose_winner,
    score_candidate,
    segment_order,
)
from segmentation.io.tables import columns, conform, empty
from segmentation.io.values import optional_float

ASSIGNMENT_RULE = (
    "K-Means and Gaussian mixture: the fitted model's predict on every customer; agglomerative, "
    "DBSCAN and HDBSCAN: the fitted label inside the seeded fit sample, the nearest "
    "representative (Euclidean, prepared units) outside it and for noise"
)


@dataclass
class FittedCandidates:
    """All candidates fitted and scored on one prepared matrix, none chosen yet."""

    partitions: dict[str, Partition]
    rows: list[dict[str, Any]]  # score_candidate's rows (what the selection rules read)


@dataclass
class SelectionRun:
    """The fitted candidates and the candidates table with the winner chosen."""

    partitions: dict[str, Partition]
    candidates: pd.DataFrame


@dataclass
class KeptModel:
    """The winner, with segment ids ordered and per-customer details."""

    partition: Partition
    order: np.ndarray  # order[label] = segment_id
    representatives: np.ndarray  # row i = representative of segment_id i + 1 (prepared units)
    segment_ids: np.ndarray  # per customer, noise reassigned to its nearest representative
    distances: np.ndarray
    methods: np.ndarray
    model_row: dict[str, Any]


# -- public functions (one per dbt model) -------------------------------------------------


def transform_params(features: pd.DataFrame, settings: SegmentationSettings) -> pd.DataFrame:
    """Fit the feature preparation; one row per configured feature (see prepare.py)."""
    features = canonical(features)
    if features.empty:
        return empty("ml_feature_transform_params")
    _check_enough_customers(features, settings)
    preparer = FeaturePreparer(settings.preparation, settings.random_state).fit(features)
    return conform(preparer.params_, "ml_feature_transform_params")


def model_candidates(
    features: pd.DataFrame,
    params: pd.DataFrame,
    settings: SegmentationSettings,
    preferred_segments: int | None = None,
) -> pd.DataFrame:
    """Every candidate with its metrics, whether it qualified and won, and why
    (``preferred_segments``: keep this many segments while they are stable, see
    :func:`segmentation.engine.actionable.choose_actionable`)."""
    features = canonical(features)
    if features.empty:
        return empty("ml_model_candidates")
    run = _selection_run(features, params, settings, preferred_segments)
    return conform(run.candidates, "ml_model_candidates")


def algorithm_agreement(
    features: pd.DataFrame,
    params: pd.DataFrame,
    candidates: pd.DataFrame,
    settings: SegmentationSettings,
) -> pd.DataFrame:
    """Adjusted Rand index between the best candidate of each algorithm (pairs)."""
    features = canonical(features)
    if features.empty:
        return empty("ml_algorithm_agreement")
    best = best_per_algorithm(candidates, settings.selection, settings.algorithms)
    fitted = _fitted_candidates(features, params, settings)
    frame = agreement_frame({cid: fitted.partitions[cid] for cid in best.values()})
    return conform(frame, "ml_algorithm_agreement")


def segment_model(
    features: pd.DataFrame,
    params: pd.DataFrame,
    candidates: pd.DataFrame,
    settings: SegmentationSettings,
) -> pd.DataFrame:
    """The kept model: one row describing the winner (columns: tables.SCHEMAS)."""
    features = canonical(features)
    if features.empty:
        return empty("ml_segment_model")
    kept = _kept_model(features, params, candidates, settings)
    return conform(pd.DataFrame([kept.model_row]), "ml_segment_model")


def segment_representatives(
    features: pd.DataFrame,
    params: pd.DataFrame,
    candidates: pd.DataFrame,
    settings: SegmentationSettings,
) -> pd.DataFrame:
    """One row per segment and feature: representative in prepared and original units."""
    features = canonical(features)
    if features.empty:
        return empty("ml_segment_representatives")
    preparer, _ = _prepared(features, params, settings)
    kept = _kept_model(features, params, candidates, settings)
    version = kept.model_row["model_version_id"]
    original = preparer.inverse_transform(kept.representatives)
    rows = []
    pca = preparer.pca_ is not None
    for index in range(kept.representatives.shape[0]):
        segment_id = index + 1
        members = kept.segment_ids == segment_id
        if pca:
            for j, name in enumerate(preparer.feature_names_out_):
                rows.append(
                    _rep_row(version, segment_id, name, True, kept.representatives[index, j], None)
                )
        for j, name in enumerate(preparer.used_features_):
            raw = pd.to_numeric(features.loc[members, name], errors="coerce")
            rows.append(
                {
                    **_rep_row(
                        version,
                        segment_id,
                        name,
                        not pca,
                        None if pca else kept.representatives[index, j],
                        original[index, j],
                    ),
                    "member_mean": float(raw.mean()) if raw.notna().any() else None,
                    "member_median": float(raw.median()) if raw.notna().any() else None,
                }
            )
    frame = pd.DataFrame(rows, columns=list(columns("ml_segment_representatives")))
    return conform(frame, "ml_segment_representatives")


def customer_assignments(
    features: pd.DataFrame,
    params: pd.DataFrame,
    candidates: pd.DataFrame,
    settings: SegmentationSettings,
) -> pd.DataFrame:
    """Every input customer exactly once, with segment_id >= 1 from the kept model."""
    features = canonical(features)
    if features.empty:
        return empty("ml_customer_assignments")
    preparer, _ = _prepared(features, params, settings)
    kept = _kept_model(features, params, candidates, settings)
    partition = kept.partition
    in_sample = np.zeros(len(features), dtype=bool)
    in_sample[partition.fit_index] = True
    outliers = preparer.outlier_counts(features)
    frame = pd.DataFrame(
        {
            "customer_id": features[ID_COLUMN].astype(str).to_numpy(),
            "segment_id": kept.segment_ids.astype(np.int64),
            "model_version_id": kept.model_row["model_version_id"],
            "as_of_date": kept.model_row["as_of_date"],
            "distance_to_representative": kept.distances.astype(np.float64),
            "assignment_method": kept.methods,
            "is_in_fit_sample": in_sample,
            "is_noise": partition.labels == NOISE,
            "outlier_feature_count": outliers.astype(np.int64),
            "is_outlier": outliers > 0,
        }
    )
    return conform(frame, "ml_customer_assignments")


@dataclass
class SegmentationResult:
    """Every table of one run, for tests, benchmarks and notebooks."""

    params: pd.DataFrame
    candidates: pd.DataFrame
    agreement: pd.DataFrame
    model: pd.DataFrame
    representatives: pd.DataFrame
    assignments: pd.DataFrame


def run_segmentation(
    features: pd.DataFrame,
    settings: SegmentationSettings | None = None,
    preferred_segments: int | None = None,
) -> SegmentationResult:
    """The whole chain in one call, exactly as the dbt models run it (``preferred_segments``:
    a retrain's wish to keep the kept model's number of segments)."""
    settings = settings or SegmentationSettings.from_mapping(None)
    params = transform_params(features, settings)
    candidates = model_candidates(features, params, settings, preferred_segments)
    return SegmentationResult(
        params=params,
        candidates=candidates,
        agreement=algorithm_agreement(features, params, candidates, settings),
        model=segment_model(features, params, candidates, settings),
        representatives=segment_representatives(features, params, candidates, settings),
        assignments=customer_assignments(features, params, candidates, settings),
    )


def refit_labels(
    features: pd.DataFrame,
    settings: SegmentationSettings,
    candidate_id: str,
    max_fit_rows: int | None = None,
) -> np.ndarray | None:
    """Deployed labels of ``candidate_id`` fitted afresh on ``features`` (canonical order).

    The feature preparation is fitted afresh too: this is what a retrain with the same
    algorithm and parameters would find. ``max_fit_rows`` caps the fit sample (the rest are
    labelled by the fitted model, as for the candidates). None when the candidate cannot run on
    these customers or fails.
    """
    features = canonical(features)
    _check_enough_customers(features, settings)
    matrix = FeaturePreparer(settings.preparation, settings.random_state).fit_transform(features)
    specs = [s for s in candidate_grid(settings, matrix.shape[0]) if s.candidate_id == candidate_id]
    if not specs:
        return None
    spec = specs[0]
    if max_fit_rows is not None and (spec.fit_sample_size or matrix.shape[0]) > max_fit_rows:
        spec = replace(spec, fit_sample_size=max_fit_rows)
    partition = fit_candidate(spec, matrix, settings.random_state)
    if partition.status != "ok":
        return None
    return deployed_labels(partition, matrix)


# -- internals ----------------------------------------------------------------------------


def _check_enough_customers(features: pd.DataFrame, settings: SegmentationSettings) -> None:
    needed = settings.selection.min_segments + 1
    if len(features) < needed:
        raise SegmentationInputError(
            f"fct_customer_features has {len(features)} customer(s); at least {needed} are needed "
            f"to compare {settings.selection.min_segments} segments (segmentation.selection."
            "min_segments)"
        )


def _prepared(
    features: pd.DataFrame, params: pd.DataFrame, settings: SegmentationSettings
) -> tuple[FeaturePreparer, np.ndarray]:
    """Re-apply the stored transform (refit only for quantile scaler / PCA, then verified)."""
    key = "prepared:" + fingerprint(model_inputs(features, settings), params, settings.to_json())

    def compute() -> tuple[FeaturePreparer, np.ndarray]:
        _check_enough_customers(features, settings)
        if len(params) and bool(params["is_sql_scorable"].all()):
            preparer = FeaturePreparer.from_params(
                params, settings.preparation, settings.random_state
            )
        else:
            preparer = FeaturePreparer(settings.preparation, settings.random_state).fit(features)
            stored = params.get("feature_name", pd.Series(dtype=str)).tolist()
            if stored != preparer.params_["feature_name"].tolist():
                raise SegmentationInputError(
                    "ml_feature_transform_params does not match the features and settings of "
                    "this run; rebuild it"
                )
        return preparer, preparer.transform(features)

    return memoised(key, compute)


def _fitted_candidates(
    features: pd.DataFrame, params: pd.DataFrame, settings: SegmentationSettings
) -> FittedCandidates:
    """Every candidate fitted and scored (metrics, share rule), before any is chosen."""
    key = "fitted:" + fingerprint(model_inputs(features, settings), params, settings.to_json())

    def compute() -> FittedCandidates:
        _, matrix = _prepared(features, params, settings)
        revenue = pd.to_numeric(features[MONETARY_COLUMN], errors="coerce").to_numpy(dtype=float)
        with threadpool_limits(limits=FIT_THREADS):
            silhouette_sample = SilhouetteSample.draw(
                matrix, settings.selection.silhouette_sample_size, settings.random_state
            )

        def fit_and_score(spec: CandidateSpec) -> tuple[Partition, dict[str, object]]:
            partition = fit_candidate(spec, matrix, settings.random_state)
            row = score_candidate(
                partition,
                matrix,
                settings.selection,
                settings.random_state,
                silhouette_sample,
                revenue,
            )
            return partition, row

        fitted = map_fits(fit_and_score, candidate_grid(settings, matrix.shape[0]))
        partitions = {partition.spec.candidate_id: partition for partition, _ in fitted}
        return FittedCandidates(partitions, [row for _, row in fitted])

    return memoised(key, compute)


def _selection_run(
    features: pd.DataFrame,
    params: pd.DataFrame,
    settings: SegmentationSettings,
    preferred_segments: int | None = None,
) -> SelectionRun:
    """The fitted candidates with the selection rule applied (``preferred_segments``: see
    :func:`segmentation.engine.actionable.choose_actionable`)."""
    key = "selection:" + fingerprint(
        model_inputs(features, settings), params, settings.to_json(), str(preferred_segments)
    )

    def compute() -> SelectionRun:
        fitted = _fitted_candidates(features, params, settings)
        rows = copy.deepcopy(fitted.rows)  # the rules annotate the rows they are given
        selection = settings.selection
        if selection.objective == "actionable":
            _, matrix = _prepared(features, params, settings)

            def measure(candidate_id: str) -> np.ndarray:
                partition = fitted.partitions[candidate_id]
                with threadpool_limits(limits=FIT_THREADS):
                    return segment_stability(partition, matrix, selection, settings.random_state)

            _, rows = choose_actionable(
                rows, selection, settings.algorithms, measure, preferred_segments
            )
        else:
            _, rows = choose_winner(rows, selection, settings.algorithms)
        return SelectionRun(fitted.partitions, candidates_frame(rows))

    return memoised(key, compute)


def _winner_spec(candidates: pd.DataFrame, settings: SegmentationSettings, n_rows: int):
    winners = candidates[candidates["is_winner"].astype(bool)]
    if len(winners) != 1:
        raise SegmentationInputError(
            f"ml_model_candidates has {len(winners)} winner rows; expected exactly one"
        )
    winner = winners.iloc[0]
    for spec in candidate_grid(settings, n_rows):
        if spec.candidate_id == winner["candidate_id"]:
            return spec, winner
    raise SegmentationInputError(
        f"winner {winner['candidate_id']} of ml_model_candidates is not among the candidates of "
        "the current settings; rebuild ml_model_candidates"
    )


def _kept_model(
    features: pd.DataFrame,
    params: pd.DataFrame,
    candidates: pd.DataFrame,
    settings: SegmentationSettings,
) -> KeptModel:
    key = "kept:" + fingerprint(
        model_inputs(features, settings), params, candidates, settings.to_json()
    )

    def compute() -> KeptModel:
        preparer, matrix = _prepared(features, params, settings)
        spec, winner = _winner_spec(candidates, settings, matrix.shape[0])
        fitted_key = "fitted:" + fingerprint(
            model_inputs(features, settings), params, settings.to_json()
        )
        fitted = cached(fitted_key)
        if fitted is not None and spec.candidate_id in fitted.partitions:
            partition = fitted.partitions[spec.candidate_id]
        else:  # deterministic refit of the winner alone
            partition = fit_candidate(spec, matrix, settings.random_state)
        if partition.status != "ok":
            raise SegmentationInputError(
                f"winner {spec.candidate_id} did not fit: {partition.message}"
            )
        return _build_kept(features, preparer, matrix, spec, winner, partition, params, settings)

    return memoised(key, compute)


def _build_kept(
    features: pd.DataFrame,
    preparer: FeaturePreparer,
    matrix: np.ndarray,
    spec: CandidateSpec,
    winner: pd.Series,
    partition: Partition,
    params: pd.DataFrame,
    settings: SegmentationSettings,
) -> KeptModel:
    noise = partition.labels == NOISE
    labels = deployed_labels(partition, matrix)
    monetary = pd.to_numeric(features[MONETARY_COLUMN], errors="coerce").to_numpy(dtype=float)
    order = segment_order(labels, monetary, partition.n_clusters)
    segment_ids = order[labels]
    representatives = np.empty_like(partition.representatives)
    representatives[order - 1] = partition.representatives
    diffs = matrix - representatives[segment_ids - 1]
    distances = np.sqrt(np.einsum("ij,ij->i", diffs, diffs))
    methods = np.full(len(features), "fitted", dtype=object)
    if not partition.predicts_natively:
        in_sample = np.zeros(len(features), dtype=bool)
        in_sample[partition.fit_index] = True
        methods[~in_sample] = "nearest_representative"
    methods[noise] = "noise_to_nearest_representative"
    as_of = as_of_date(features)
    versions = package_versions()
    version_id = _version_id(settings, params, spec, representatives, as_of, versions)
    model_row = {
        "model_version_id": version_id,
        "candidate_id": spec.candidate_id,
        "algorithm": spec.algorithm,
        "parameters": winner["parameters"],
        "n_segments": int(partition.n_clusters),
        "random_state": settings.random_state,
        "as_of_date": as_of,
        "training_first_order_at": _extreme(features, "first_order_at", min),
        "training_last_order_at": _extreme(features, "last_order_at", max),
        "n_customers": len(features),
        "fit_sample_size": int(partition.fit_index.size),
        "features_used": json.dumps(list(preparer.feature_names_out_)),
        "scaler": settings.preparation.scaler,
        "pca_components": None
        if settings.preparation.pca_components is None
        else str(settings.preparation.pca_components),
        "is_sql_scorable": bool(params["is_sql_scorable"].all()),
        "assignment_rule": ASSIGNMENT_RULE,
        "silhouette": optional_float(winner["silhouette"]),
        "davies_bouldin": optional_float(winner["davies_bouldin"]),
        "calinski_harabasz": optional_float(winner["calinski_harabasz"]),
        "selection_reason": winner["selection_reason"],
        "used_fallback": "fallback" in str(winner["selection_reason"]),
        "package_versions": json.dumps(versions, sort_keys=True),
        "settings_json": settings.to_json(),
    }
    return KeptModel(
        partition, order, representatives, segment_ids, distances, methods.astype(str), model_row
    )


def _extreme(features: pd.DataFrame, column: str, pick: Callable) -> Any:
    if column not in features.columns or features[column].dropna().empty:
        return None
    return pd.Timestamp(pick(features[column].dropna())).to_pydatetime()


def _version_id(
    settings: SegmentationSettings,
    params: pd.DataFrame,
    spec: CandidateSpec,
    representatives: np.ndarray,
    as_of: Any,
    versions: dict[str, str],
) -> str:
    digest = hashlib.sha256()
    digest.update(settings.to_json().encode())
    digest.update(params.to_csv(index=False).encode())
    digest.update(spec.candidate_id.encode())
    digest.update(np.round(representatives, 10).tobytes())
    digest.update(str(as_of).encode())
    digest.update(json.dumps(versions, sort_keys=True).encode())
    return f"{as_of or 'undated'}-{spec.algorithm}-{digest.hexdigest()[:12]}"


def _rep_row(
    version: str, segment_id: int, name: str, is_input: bool, scaled: Any, original: Any
) -> dict[str, Any]:
    return {
        "model_version_id": version,
        "segment_id": segment_id,
        "feature_name": name,
        "is_model_input": is_input,
        "value_scaled": None if scaled is None else float(scaled),
        "value_original": None if original is None else float(original),
        "member_mean": None,
        "member_median": None,
    }

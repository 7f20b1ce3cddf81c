"""The evaluation tables: the functions the dbt Python models in ``models/ml/evaluation`` call.

Each builds one table from the kept model's tables, never from engine internals:

- :func:`segment_stability`     -> ml_segment_stability (one row per segment; clusterboot)
- :func:`prediction_strength`   -> ml_prediction_strength (one row per k)
- :func:`seed_agreement`        -> ml_seed_agreement (one row per seed)
- :func:`customer_evaluation`   -> ml_customer_evaluation (one row per customer)
- :func:`segment_evaluation`    -> ml_segment_evaluation (one row: the summary the quality gates
  read, with external validation against planted archetypes where they exist)

Inputs: fct_customer_features, ml_feature_transform_params (to prepare the same matrix),
ml_segment_model (winner's candidate_id, algorithm, random_state and settings_json, from which
the winning configuration is rebuilt), ml_segment_representatives and ml_customer_assignments
(the deployed segment of each customer). Customers are put in ``customer_id`` order first, so
results do not depend on the order the warehouse returns rows in. Only customers with exactly
one assignment are evaluated (the quality gate reports the others). Every table is returned
empty, with its columns, when there is no model (e.g. ``dbt build --empty``).

The three refit tables (stability, prediction strength, seed agreement) are measured once per
model version and evaluation settings: each row carries an ``evaluation_key`` (a digest of both),
and when the table already holds exactly the rows of the current key (``previous``, the table as
the last build left it), they are returned unchanged. A build that keeps the model (the daily
build) so skips the refits, which describe the version as trained; a retrain or a change of the
``evaluation`` var measures again. The per-customer table and the summary are always rebuilt.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from segmentation.config.evaluation import EvaluationSettings
from segmentation.config.segmentation import SegmentationSettings
from segmentation.engine.algorithms import CandidateSpec, seeded_sample, stage_seed
from segmentation.engine.inputs import MONETARY_COLUMN
from segmentation.engine.selection import is_valuable, revenue_shares
from segmentation.evaluation.inputs import (
    EvaluationInput,
    assignment_rule,
    evaluation_input,
    measured_once,
)
from segmentation.evaluation.metrics import (
    BootstrapStability,
    EvaluationError,
    PredictionStrength,
    SeedAgreement,
    customer_fit,
    external_agreement,
    stability_class,
    with_clusters,
)
from segmentation.io.tables import conform, empty
from segmentation.io.values import finite_or_none, python_scalar

NOT_AVAILABLE = "not available: no known classes for these customers (real data)"


def segment_stability(
    features: pd.DataFrame,
    params: pd.DataFrame,
    model: pd.DataFrame,
    assignments: pd.DataFrame,
    settings: EvaluationSettings,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Clusterboot stability of every segment (ml_segment_stability)."""
    return measured_once(
        "ml_segment_stability",
        _stability_rows,
        features,
        params,
        model,
        assignments,
        settings,
        previous,
    )


def _stability_rows(data: EvaluationInput, settings: EvaluationSettings) -> list[dict[str, Any]]:
    """One row per segment of the kept model."""
    boot = settings.bootstrap
    sample = seeded_sample(len(data.labels), boot.sample_size, stage_seed(data.random_state, 1))
    labels = data.labels[sample]
    present = np.unique(labels)
    # Segments are renumbered to those present in the sample (a tiny one may be absent).
    local = np.searchsorted(present, labels)
    result = BootstrapStability(
        data.spec, boot.resamples, stage_seed(data.random_state, 2), data.assignment_rule
    ).fit(data.matrix[sample], local)
    rows = []
    for segment in range(data.segment_ids.size):
        position = np.searchsorted(present, segment)
        is_present = position < present.size and present[position] == segment
        values = result.jaccard_[:, position] if is_present else np.full(boot.resamples, np.nan)
        finite = values[np.isfinite(values)]
        mean = float(finite.mean()) if finite.size else None
        rows.append(
            {
                "model_version_id": data.model["model_version_id"],
                "segment_id": int(data.segment_ids[segment]),
                "customer_count": int(np.sum(data.labels == segment)),
                "sample_customer_count": int(np.sum(labels == segment)),
                "mean_jaccard": mean,
                "median_jaccard": float(np.median(finite)) if finite.size else None,
                "min_jaccard": float(finite.min()) if finite.size else None,
                "resamples": boot.resamples,
                "resamples_with_segment": int(finite.size),
                "dissolved_count": int(np.sum(finite <= 0.5)),
                "recovered_count": int(np.sum(finite >= 0.75)),
                "stability_class": stability_class(mean),
            }
        )
    return rows


def prediction_strength(
    features: pd.DataFrame,
    params: pd.DataFrame,
    model: pd.DataFrame,
    assignments: pd.DataFrame,
    settings: EvaluationSettings,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Prediction strength of every candidate number of segments (ml_prediction_strength)."""
    return measured_once(
        "ml_prediction_strength",
        _strength_rows,
        features,
        params,
        model,
        assignments,
        settings,
        previous,
    )


def _strength_rows(data: EvaluationInput, settings: EvaluationSettings) -> list[dict[str, Any]]:
    """One row per k of the winner's algorithm family."""
    cfg = settings.prediction_strength
    spec, ks = _strength_family(data)
    sample = seeded_sample(len(data.labels), cfg.sample_size, stage_seed(data.random_state, 3))
    result = PredictionStrength(
        partial(with_clusters, spec),
        ks,
        cfg.splits,
        cfg.threshold,
        stage_seed(data.random_state, 4),
        data.assignment_rule,
    ).fit(data.matrix[sample])
    rows = [
        {
            "model_version_id": data.model["model_version_id"],
            "algorithm": spec.algorithm,
            "n_segments": k,
            "splits": cfg.splits,
            "sample_size": int(sample.size),
            "mean_prediction_strength": finite_or_none(result.mean_[j]),
            "std_prediction_strength": finite_or_none(result.std_[j]),
            "min_prediction_strength": finite_or_none(result.min_[j]),
            "threshold": cfg.threshold,
            "is_supported": bool(np.isfinite(result.mean_[j]) and result.mean_[j] >= cfg.threshold),
            "is_largest_supported": k == result.supported_k_,
            "is_model_k": k == data.n_segments,
        }
        for j, k in enumerate(ks)
    ]
    return rows


def seed_agreement(
    features: pd.DataFrame,
    params: pd.DataFrame,
    model: pd.DataFrame,
    assignments: pd.DataFrame,
    settings: EvaluationSettings,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The winner refitted with every configured seed (ml_seed_agreement)."""
    return measured_once(
        "ml_seed_agreement", _seed_rows, features, params, model, assignments, settings, previous
    )


def _seed_rows(data: EvaluationInput, settings: EvaluationSettings) -> list[dict[str, Any]]:
    """One row per configured seed."""
    cfg = settings.seed_agreement
    sample = seeded_sample(len(data.labels), cfg.sample_size, stage_seed(data.random_state, 5))
    result = SeedAgreement(data.spec, cfg.seeds, data.assignment_rule).fit(
        data.matrix[sample], data.labels[sample]
    )
    rows = []
    for i, seed in enumerate(cfg.seeds):
        others = np.delete(result.pairwise_ari_[i], i)
        others = others[np.isfinite(others)]
        rows.append(
            {
                "model_version_id": data.model["model_version_id"],
                "seed": seed,
                "sample_size": int(sample.size),
                "n_segments_found": int(result.n_clusters_[i]),
                "noise_share": finite_or_none(result.noise_shares_[i]),
                "adjusted_rand_index_vs_model": finite_or_none(result.ari_vs_reference_[i]),
                "mean_adjusted_rand_index_vs_other_seeds": float(others.mean())
                if others.size
                else None,
                "min_adjusted_rand_index_vs_other_seeds": float(others.min())
                if others.size
                else None,
            }
        )
    return rows


def customer_evaluation(
    features: pd.DataFrame,
    params: pd.DataFrame,
    model: pd.DataFrame,
    representatives: pd.DataFrame,
    assignments: pd.DataFrame,
    settings: EvaluationSettings,
) -> pd.DataFrame:
    """Distances, margin and silhouette of every customer (ml_customer_evaluation)."""
    data = evaluation_input(features, params, model, assignments, settings)
    if data is None:
        return empty("ml_customer_evaluation")
    reps = _representatives(representatives, data)
    size = _silhouette_sample_size(data, settings)
    # The selection's own sample (same size and seed), so the mean over it is the model's
    # silhouette when every customer is evaluated.
    reference = seeded_sample(len(data.labels), size, data.settings.random_state)
    fit = customer_fit(data.matrix, data.labels, reps, reference)
    exact = reference.size == len(data.labels)
    method = np.where(exact, "exact", np.where(fit.in_reference, "sample", "estimate"))
    second = pd.array(
        np.where(fit.second_label >= 0, data.segment_ids[np.maximum(fit.second_label, 0)], 0),
        dtype="Int64",
    )
    second[fit.second_label < 0] = pd.NA
    frame = pd.DataFrame(
        {
            "customer_id": data.customer_ids,
            "model_version_id": data.model["model_version_id"],
            "segment_id": data.segment_ids[data.labels],
            "distance_to_representative": fit.distance,
            "second_segment_id": second,
            "distance_to_second_representative": fit.second_distance,
            "assignment_margin": fit.margin,
            "is_borderline": np.nan_to_num(fit.margin, nan=1.0)
            < settings.customer_fit.borderline_margin,
            "silhouette": fit.silhouette,
            "silhouette_method": method,
        }
    )
    return conform(frame, "ml_customer_evaluation")


def segment_evaluation(
    model: pd.DataFrame,
    features: pd.DataFrame,
    assignments: pd.DataFrame,
    stability: pd.DataFrame,
    strength: pd.DataFrame,
    seeds: pd.DataFrame,
    customers: pd.DataFrame,
    archetypes: pd.DataFrame | Callable[[], pd.DataFrame],
    settings: EvaluationSettings,
) -> pd.DataFrame:
    """One row summarising the evaluation of the kept model (ml_segment_evaluation).

    ``archetypes`` (customer_id, archetype: the known classes) may be a function returning
    them: it is only called when there is a model to evaluate, so a build of the ml models
    alone on an empty feature table does not need the staging layer.
    """
    if model.empty or features.empty:
        return empty("ml_segment_evaluation")
    if callable(archetypes):
        archetypes = archetypes()
    row = {key: python_scalar(value) for key, value in model.iloc[0].to_dict().items()}
    model_settings = SegmentationSettings.from_mapping(row.get("settings_json"))
    random_state = settings.random_state
    if random_state is None:
        random_state = int(row.get("random_state") or model_settings.random_state)
    sizes = assignments.groupby("segment_id")["customer_id"].count()
    n_assigned = int(sizes.sum())
    noise = _noise_share(assignments, seeds)
    sampled = customers[customers["silhouette_method"] != "estimate"]["silhouette"]
    stable = pd.to_numeric(stability["mean_jaccard"], errors="coerce")
    at_k = strength[strength["is_model_k"].astype(bool)]["mean_prediction_strength"]
    supported = strength[strength["is_largest_supported"].astype(bool)]["n_segments"]
    ari_models = pd.to_numeric(seeds["adjusted_rand_index_vs_model"], errors="coerce")
    truth = _external(customers, archetypes)
    summary = {
        "model_version_id": row["model_version_id"],
        "candidate_id": row["candidate_id"],
        "algorithm": row["algorithm"],
        "n_segments": int(row["n_segments"]),
        "n_customers": len(features),
        "n_customers_evaluated": len(customers),
        "assignment_rule": assignment_rule(assignments),
        "smallest_segment_share": float(sizes.min() / n_assigned) if n_assigned else None,
        **_share_rule(assignments, features, model_settings),
        "noise_share": noise,
        "silhouette": _mean(sampled),
        "silhouette_sample_size": int(sampled.notna().sum()),
        "silhouette_all_customers": _mean(customers["silhouette"]),
        "borderline_share": _mean(customers["is_borderline"].astype(float)),
        "mean_bootstrap_stability": _mean(stable),
        "min_segment_stability": float(stable.min()) if stable.notna().any() else None,
        "dissolved_segment_count": int((stable <= 0.5).sum()),
        "bootstrap_resamples": settings.bootstrap.resamples,
        "bootstrap_sample_size": int(stability["sample_customer_count"].sum()),
        "prediction_strength_algorithm": strength["algorithm"].iloc[0] if len(strength) else None,
        "prediction_strength_at_model_k": _mean(at_k),
        "prediction_strength_supported_k": int(supported.iloc[0]) if len(supported) else None,
        "prediction_strength_threshold": settings.prediction_strength.threshold,
        "seed_agreement_mean_ari": _mean(seeds["mean_adjusted_rand_index_vs_other_seeds"]),
        "seed_agreement_min_ari": _pairwise_min(seeds),
        "seed_agreement_mean_ari_vs_model": _mean(ari_models),
        "seed_count": len(seeds),
        **truth,
        "evaluation_random_state": random_state,
        "evaluation_settings_json": settings.to_json(),
    }
    return conform(pd.DataFrame([summary]), "ml_segment_evaluation")


@dataclass
class EvaluationResult:
    """Every evaluation table of one run, for tests, benchmarks and notebooks."""

    stability: pd.DataFrame
    strength: pd.DataFrame
    seeds: pd.DataFrame
    customers: pd.DataFrame
    summary: pd.DataFrame
    seconds: dict[str, float]


def run_evaluation(
    features: pd.DataFrame,
    params: pd.DataFrame,
    model: pd.DataFrame,
    representatives: pd.DataFrame,
    assignments: pd.DataFrame,
    archetypes: pd.DataFrame | None = None,
    settings: EvaluationSettings | None = None,
) -> EvaluationResult:
    """The whole evaluation in one call, exactly as the dbt models run it (with timings)."""
    settings = settings or EvaluationSettings.from_mapping(None)
    archetypes = (
        archetypes if archetypes is not None else pd.DataFrame({"customer_id": [], "archetype": []})
    )
    seconds: dict[str, float] = {}

    def timed(name: str, call):
        started = time.perf_counter()
        value = call()
        seconds[name] = time.perf_counter() - started
        return value

    inputs = (features, params, model, assignments, settings)
    stability = timed("stability", lambda: segment_stability(*inputs))
    strength = timed("prediction_strength", lambda: prediction_strength(*inputs))
    seeds = timed("seed_agreement", lambda: seed_agreement(*inputs))
    customers = timed(
        "customers",
        lambda: customer_evaluation(
            features, params, model, representatives, assignments, settings
        ),
    )
    summary = timed(
        "summary",
        lambda: segment_evaluation(
            model,
            features,
            assignments,
            stability,
            strength,
            seeds,
            customers,
            archetypes,
            settings,
        ),
    )
    return EvaluationResult(stability, strength, seeds, customers, summary, seconds)


# -- internals ----------------------------------------------------------------------------


def _strength_family(data: EvaluationInput) -> tuple[CandidateSpec, list[int]]:
    """The winner's configuration and its k range; K-Means for density winners."""
    selection = data.settings.selection
    if data.spec.requested_clusters is not None:
        cfg = getattr(data.settings, data.spec.algorithm)
        spec = data.spec
    else:
        cfg = data.settings.kmeans
        spec = CandidateSpec(
            "kmeans",
            (("n_clusters", 2), ("n_init", cfg.n_init)),
            cfg.fit_sample_size,
        )
    low = max(cfg.k_min, selection.min_segments)
    high = min(cfg.k_max, selection.max_segments)
    ks = list(range(low, high + 1))
    if data.n_segments not in ks:
        ks = sorted({*ks, data.n_segments})
    return spec, ks


def _representatives(table: pd.DataFrame, data: EvaluationInput) -> np.ndarray:
    """Representatives in prepared units, row i = segment ``data.segment_ids[i]``, columns in
    matrix order."""
    inputs = table[table["is_model_input"].astype(bool)]
    pivot = inputs.pivot_table(
        index="segment_id", columns="feature_name", values="value_scaled", aggfunc="first"
    )
    names = json.loads(data.model["features_used"])
    missing = [n for n in names if n not in pivot.columns]
    segments = [int(segment) for segment in data.segment_ids]
    absent = [s for s in segments if s not in pivot.index]
    if missing or absent:
        raise EvaluationError(
            "ml_segment_representatives lacks "
            + (f"features {missing} " if missing else "")
            + (f"segments {absent}" if absent else "")
        )
    reps = pivot.loc[segments, names].to_numpy(dtype=float)
    if reps.shape[1] != data.matrix.shape[1]:
        raise EvaluationError("representatives and prepared features have different widths")
    return reps


def _silhouette_sample_size(data: EvaluationInput, settings: EvaluationSettings) -> int:
    size = settings.customer_fit.silhouette_sample_size
    return size if size is not None else data.settings.selection.silhouette_sample_size


def _external(customers: pd.DataFrame, archetypes: pd.DataFrame) -> dict[str, Any]:
    truth = archetypes.dropna(subset=["customer_id", "archetype"])
    truth = truth.assign(customer_id=truth["customer_id"].astype(str)).drop_duplicates(
        "customer_id"
    )
    merged = customers[["customer_id", "segment_id"]].merge(truth, on="customer_id")
    result = external_agreement(merged["segment_id"].to_numpy(), merged["archetype"].to_numpy())
    return {
        "external_validation_status": "available" if result.is_available else NOT_AVAILABLE,
        "external_customer_count": result.n_customers,
        "external_class_count": result.n_classes,
        "external_adjusted_rand_index": result.adjusted_rand_index,
        "external_normalized_mutual_info": result.normalized_mutual_info,
    }


def _share_rule(
    assignments: pd.DataFrame, features: pd.DataFrame, settings: SegmentationSettings
) -> dict[str, Any]:
    """The share rule of the model's own selection settings, on the deployed segments: how many
    segments are small but valuable, and the smallest share among the others (the share gate
    reads it, so a valuable small segment the selection admitted does not fail the gate)."""
    spent = features[["customer_id", MONETARY_COLUMN]].astype({"customer_id": str})
    segments = assignments[["customer_id", "segment_id"]].astype({"customer_id": str})
    merged = segments.merge(spent, on="customer_id", how="left")
    codes, segment_ids = pd.factorize(merged["segment_id"], sort=True)
    sizes = np.bincount(codes, minlength=len(segment_ids))
    shares = sizes / max(int(sizes.sum()), 1)
    money = pd.to_numeric(merged[MONETARY_COLUMN], errors="coerce").to_numpy(dtype=float)
    revenue = revenue_shares(codes, money, len(segment_ids)) or [None] * len(shares)
    valuable = [
        is_valuable(float(s), r, settings.selection) and s < settings.selection.min_segment_share
        for s, r in zip(shares, revenue, strict=True)
    ]
    regular = [float(s) for s, v in zip(shares, valuable, strict=True) if not v]
    return {
        "valuable_segment_count": int(sum(valuable)),
        "smallest_regular_segment_share": min(regular) if regular else None,
    }


def _noise_share(assignments: pd.DataFrame, seeds: pd.DataFrame) -> float:
    """Share of customers the winning configuration calls noise: the larger of the share flagged
    in the assignments and the mean share of the seeds' refits (a kept model scored in SQL flags
    nobody, so the refits tell what the density method makes of these customers)."""
    shares = [0.0]
    if "is_noise" in assignments and len(assignments):
        shares.append(float(assignments["is_noise"].astype(bool).mean()))
    refits = pd.to_numeric(seeds.get("noise_share", pd.Series(dtype=float)), errors="coerce")
    if refits.notna().any():
        shares.append(float(refits.mean()))
    return max(shares)


def _pairwise_min(seeds: pd.DataFrame) -> float | None:
    """The smallest adjusted Rand index between two seeds' runs."""
    values = pd.to_numeric(seeds["min_adjusted_rand_index_vs_other_seeds"], errors="coerce")
    return float(values.min()) if values.notna().any() else None


def _mean(values: pd.Series) -> float | None:
    values = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    return float(values.mean()) if len(values) else None

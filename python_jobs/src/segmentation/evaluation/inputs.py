"""The kept model's data as the evaluation tables read it, and measuring a refit table once per
model version and evaluation settings.

:func:`evaluation_input` aligns fct_customer_features, the stored feature transform, the model row
and the deployed assignments into one :class:`EvaluationInput`; :func:`measured_once` gives a refit
table its rows, reusing the previous build's when they were measured under the same
:func:`evaluation_key`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from segmentation.config.evaluation import EvaluationSettings
from segmentation.config.segmentation import SegmentationSettings
from segmentation.engine.algorithms import CandidateSpec, candidate_grid
from segmentation.engine.prepare import ID_COLUMN, FeaturePreparer
from segmentation.evaluation.metrics import EvaluationError
from segmentation.io.tables import conform, empty
from segmentation.io.values import python_scalar


@dataclass
class EvaluationInput:
    """The kept model's data, aligned: row i of ``matrix`` is customer ``customer_ids[i]``."""

    model: dict[str, Any]
    settings: SegmentationSettings
    spec: CandidateSpec
    random_state: int
    customer_ids: np.ndarray
    matrix: np.ndarray
    labels: np.ndarray  # 0-based positions in segment_ids
    segment_ids: np.ndarray  # the model's segment ids in use, ascending (not always 1..k)
    assignment_rule: str  # how the deployed model labels customers (evaluation.ASSIGNMENT_RULES)
    n_segments: int
    n_customers: int  # rows of fct_customer_features


def evaluation_key(model: pd.DataFrame, settings: EvaluationSettings) -> str:
    """Digest of what the refit tables measure: the kept model version and the settings."""
    version = str(model.iloc[0]["model_version_id"])
    text = json.dumps([version, settings.to_json()])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def reusable(previous: pd.DataFrame | None, key: str, table: str) -> pd.DataFrame | None:
    """``previous`` conformed to ``table`` when all its rows were measured under ``key``."""
    if previous is None or previous.empty or "evaluation_key" not in previous.columns:
        return None
    if not (previous["evaluation_key"].astype(str) == key).all():
        return None
    try:
        return conform(previous, table)
    except ValueError:  # an older layout of the table: measure again
        return None


def measured_once(
    table: str,
    measure: Callable[[EvaluationInput, EvaluationSettings], list[dict[str, Any]]],
    features: pd.DataFrame,
    params: pd.DataFrame,
    model: pd.DataFrame,
    assignments: pd.DataFrame,
    settings: EvaluationSettings,
    previous: pd.DataFrame | None,
) -> pd.DataFrame:
    """A refit table: the ``previous`` rows when they were measured under the current
    evaluation key, else ``measure``'s rows stamped with that key (empty without a model)."""
    if model.empty or features.empty:
        return empty(table)
    key = evaluation_key(model, settings)
    kept = reusable(previous, key, table)
    if kept is not None:
        return kept
    data = evaluation_input(features, params, model, assignments, settings)
    if data is None:
        return empty(table)
    return conform(pd.DataFrame(measure(data, settings)).assign(evaluation_key=key), table)


def evaluation_input(
    features: pd.DataFrame,
    params: pd.DataFrame,
    model: pd.DataFrame,
    assignments: pd.DataFrame,
    settings: EvaluationSettings,
) -> EvaluationInput | None:
    """Align the tables (None when there is no model to evaluate)."""
    if model.empty or features.empty:
        return None
    if len(model) != 1:
        raise EvaluationError(f"ml_segment_model has {len(model)} rows; expected one")
    row = {key: python_scalar(value) for key, value in model.iloc[0].to_dict().items()}
    model_settings = SegmentationSettings.from_mapping(row.get("settings_json"))
    features = features.assign(**{ID_COLUMN: features[ID_COLUMN].astype(str)})
    features = features.sort_values(ID_COLUMN, kind="stable").reset_index(drop=True)
    matrix = _prepared_matrix(features, params, model_settings)
    # ids as Python strings: matching Arrow-backed strings goes value by value (1 s per table at
    # 100,000 customers), an Index of objects hashes them once
    assigned = pd.Index(assignments["customer_id"].astype(str).to_numpy(dtype=object))
    single = ~assigned.duplicated(keep=False)
    segment_of = pd.Series(
        assignments["segment_id"].astype("int64").to_numpy()[single], index=assigned[single]
    )
    position = segment_of.index.get_indexer(features[ID_COLUMN].to_numpy(dtype=object))
    keep = position >= 0
    if not keep.any():
        raise EvaluationError("no customer of fct_customer_features has exactly one segment")
    ids = features.loc[keep, ID_COLUMN].to_numpy()
    segment_ids = segment_of.to_numpy()[position[keep]]
    n_segments = int(row["n_segments"])
    # A kept model keeps its segment ids across retrains (registry), so they need not be
    # 1..k: label i stands for the i-th smallest id in use.
    in_use = np.unique(segment_ids)
    if in_use.size > n_segments or in_use.min() < 1:
        raise EvaluationError(
            f"ml_customer_assignments uses {in_use.size} segment ids ({in_use.tolist()}), "
            f"not a model of {n_segments} segments with ids >= 1 (ml_segment_model)"
        )
    random_state = settings.random_state
    if random_state is None:
        random_state = int(row.get("random_state") or model_settings.random_state)
    return EvaluationInput(
        model=row,
        settings=model_settings,
        spec=_winner_spec(row, model_settings, len(features)),
        random_state=random_state,
        customer_ids=ids,
        matrix=matrix[keep],
        labels=np.searchsorted(in_use, segment_ids),
        segment_ids=in_use,
        assignment_rule=assignment_rule(assignments),
        n_segments=n_segments,
        n_customers=len(features),
    )


def assignment_rule(assignments: pd.DataFrame) -> str:
    """How the deployed model labels customers, read from ml_customer_assignments.

    ``nearest_representative`` when every customer was assigned to the nearest representative
    (a kept model scored in SQL), otherwise ``fitted`` (the algorithm's own labels, the engine's
    deployed partition). Refits are labelled by the same rule, so like is compared with like.
    """
    methods = assignments.get("assignment_method")
    if methods is not None and len(methods) and (methods == "nearest_representative").all():
        return "nearest_representative"
    return "fitted"


def stage_seed(random_state: int, stage: int) -> int:
    """A seed per stage derived from the evaluation seed (stages draw independent samples)."""
    return int(np.random.SeedSequence([random_state, stage]).generate_state(1)[0] % (2**31 - 1))


def _prepared_matrix(
    features: pd.DataFrame, params: pd.DataFrame, settings: SegmentationSettings
) -> np.ndarray:
    """The model's input matrix: the stored transform re-applied (refit for quantile/PCA)."""
    if len(params) and bool(params["is_sql_scorable"].astype(bool).all()):
        preparer = FeaturePreparer.from_params(params, settings.preparation, settings.random_state)
    else:
        preparer = FeaturePreparer(settings.preparation, settings.random_state).fit(features)
    return preparer.transform(features)


def _winner_spec(row: dict[str, Any], settings: SegmentationSettings, n_rows: int) -> CandidateSpec:
    for spec in candidate_grid(settings, n_rows):
        if spec.candidate_id == row["candidate_id"]:
            return spec
    raise EvaluationError(
        f"the kept model's candidate {row['candidate_id']} is not among the candidates of its "
        "own settings (ml_segment_model.settings_json); rebuild the model"
    )

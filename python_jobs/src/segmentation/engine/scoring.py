"""Scoring customers with a kept model from its tables, exactly as the SQL scoring does.

A kept model is data: its transform parameters (one row per feature, the columns of
ml_feature_transform_params) and its representatives (one row per segment and feature, the
columns of ml_segment_representatives). Scoring a customer, in SQL
(``models/ml/scoring/ml_customer_assignments.sql``) and here alike:

1. every used feature is prepared with its stored parameters: NULL filled by the imputation
   rule, clipped to ``[clip_lower, clip_upper]``, ``ln(1 + x)`` where ``is_log1p``, then
   ``(x - centre) / scale`` (the ``sql_expression`` of the row);
2. the customer goes to the nearest representative (Euclidean distance over the model inputs);
   of two equally near representatives the lower segment id wins.

Nothing is refitted. The Python side uses this to score the current customers with the kept
model before the retraining decision (segment-size drift, stability, identity matching); the
SQL side makes the assignments BI tools read. A test checks that both agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from segmentation.engine.prepare import ID_COLUMN


class ScoringError(ValueError):
    """The kept model cannot score these customers (names the column and customers at fault)."""


@dataclass(frozen=True)
class Scores:
    """Per customer (in the order of the features given): segment id and distance."""

    customer_ids: np.ndarray
    segment_ids: np.ndarray
    distances: np.ndarray


def used_params(params: pd.DataFrame) -> pd.DataFrame:
    """The used rows of a transform-parameter table, in feature position order."""
    used = params[params["is_used"].astype(bool)]
    return used.sort_values("feature_position").reset_index(drop=True)


def imputed_values(features: pd.DataFrame, row: pd.Series) -> np.ndarray:
    """The feature of ``row`` with NULLs filled by its rule (no clipping), as floats."""
    name = str(row["feature_name"])
    if name not in features.columns:
        raise ScoringError(f"the kept model needs column {name}, which the customers lack")
    values = _floats(features[name])
    nulls = np.isnan(values)
    if nulls.any():
        rule = row["imputation_rule"]
        if rule == "column":
            source = str(row["imputation_column"])
            if source not in features.columns:
                raise ScoringError(
                    f"the kept model fills NULL {name} from column {source}, which is missing"
                )
            values = np.where(nulls, _floats(features[source]), values)
        elif rule == "constant":
            values = np.where(nulls, float(row["imputation_value"]), values)
        still = np.isnan(values)
        if still.any():
            examples = ", ".join(map(str, features.loc[still, ID_COLUMN].head(3)))
            raise ScoringError(
                f"column {name} is NULL after the kept model's imputation for "
                f"{int(still.sum())} customer(s), e.g. customer_id {examples}"
            )
    return values


def prepare_values(values: np.ndarray, row: pd.Series) -> np.ndarray:
    """Clip, ln(1 + x) and scale already imputed ``values`` with the stored parameters."""
    out = np.asarray(values, dtype=float)
    if _present(row["clip_lower"]):
        out = np.minimum(np.maximum(out, float(row["clip_lower"])), float(row["clip_upper"]))
    if bool(row["is_log1p"]):
        if out.size and float(out.min()) <= -1.0:
            raise ScoringError(
                f"column {row['feature_name']} has values <= -1 after clipping: ln(1 + x) is "
                "undefined"
            )
        out = np.log(1.0 + out)  # as the SQL ln(1 + x), not log1p, so both agree bit for bit
    return (out - float(row["centre"])) / float(row["scale"])


def prepared_matrix(features: pd.DataFrame, params: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """The model inputs of every customer (rows in ``features`` order) and their names."""
    rows = used_params(params)
    if rows.empty:
        raise ScoringError("the kept model has no used feature")
    if not bool(params["is_sql_scorable"].astype(bool).all()):
        raise ScoringError("the kept model is not scorable from its tables (quantile scaler/PCA)")
    columns = [prepare_values(imputed_values(features, row), row) for _, row in rows.iterrows()]
    return np.column_stack(columns), [str(name) for name in rows["feature_name"]]


def representative_matrix(
    representatives: pd.DataFrame, feature_names: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(segment ids ascending, their coordinates over ``feature_names`` in prepared units)."""
    inputs = representatives[representatives["is_model_input"].astype(bool)]
    wide = inputs.pivot_table(
        index="segment_id", columns="feature_name", values="value_scaled", aggfunc="first"
    )
    missing = [name for name in feature_names if name not in wide.columns]
    if missing or wide.empty:
        raise ScoringError(f"the kept model's representatives lack feature(s) {missing}")
    wide = wide.sort_index()
    return wide.index.to_numpy(dtype=np.int64), wide[feature_names].to_numpy(dtype=float)


def nearest(matrix: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centre per row (first of equals) and the Euclidean distance."""
    squared = np.zeros((matrix.shape[0], centres.shape[0]))
    for j in range(matrix.shape[1]):  # feature by feature, as the SQL sum of squares
        squared += (matrix[:, [j]] - centres[None, :, j]) ** 2
    distances = np.sqrt(squared)  # compared after the root, as the SQL orders by it
    index = np.argmin(distances, axis=1)
    return index, distances[np.arange(matrix.shape[0]), index]


def score(features: pd.DataFrame, params: pd.DataFrame, representatives: pd.DataFrame) -> Scores:
    """Segment of every customer of ``features`` under the kept model (see module docstring)."""
    matrix, names = prepared_matrix(features, params)
    segment_ids, centres = representative_matrix(representatives, names)
    index, distances = nearest(matrix, centres)
    return Scores(
        customer_ids=features[ID_COLUMN].astype(str).to_numpy(),
        segment_ids=segment_ids[index],
        distances=distances,
    )


def map_points(original: pd.DataFrame, params: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Points given in original units (one column per feature) in the prepared units of
    ``params``, over the used features that ``original`` has (e.g. another model's centroids)."""
    rows = used_params(params)
    rows = rows[rows["feature_name"].isin(original.columns)]
    columns = [
        prepare_values(_floats(original[str(row["feature_name"])]), row)
        for _, row in rows.iterrows()
    ]
    names = [str(name) for name in rows["feature_name"]]
    if not columns:
        return np.empty((len(original), 0)), names
    return np.column_stack(columns), names


def jaccard_matrix(
    old: np.ndarray, new: np.ndarray, old_ids: np.ndarray, new_ids: np.ndarray
) -> np.ndarray:
    """``[i, j]`` = |old == old_ids[i] and new == new_ids[j]| / |either| over the customers."""
    result = np.zeros((old_ids.size, new_ids.size))
    for i, old_id in enumerate(old_ids):
        in_old = old == old_id
        for j, new_id in enumerate(new_ids):
            in_new = new == new_id
            union = int((in_old | in_new).sum())
            result[i, j] = (in_old & in_new).sum() / union if union else 0.0
    return result


@dataclass(frozen=True)
class SegmentMatch:
    """How the segments of a new fit relate to the previous model's."""

    new_to_stable: dict[int, int]  # provisional id of the new fit -> stable segment id
    rows: list[dict[str, object]]  # one per new segment and per retired previous segment


def match_segments(
    distance: np.ndarray,
    overlap: np.ndarray,
    old_ids: np.ndarray,
    new_ids: np.ndarray,
    min_overlap: float,
    next_id: int,
) -> SegmentMatch:
    """Give each new segment the id of the previous segment it continues, or a fresh id.

    Pairs come from the optimal assignment (``scipy.optimize.linear_sum_assignment``) on the
    centroid ``distance`` matrix ``[old, new]`` (both in the new model's prepared units); a pair
    keeps the previous id only when the two share at least ``min_overlap`` of their customers
    (Jaccard ``overlap[old, new]``), i.e. when it is the same group of customers. Unpaired or
    rejected new segments get fresh ids from ``next_id`` on, in their provisional order;
    previous segments left without a successor are reported as retired.
    """
    pairs: dict[int, int] = {}
    if old_ids.size and new_ids.size:
        cost = distance if distance.size and np.isfinite(distance).all() else -overlap
        rows_idx, cols_idx = linear_sum_assignment(cost)
        for i, j in zip(rows_idx, cols_idx, strict=True):
            if overlap[i, j] >= min_overlap:
                pairs[j] = i
    new_to_stable: dict[int, int] = {}
    rows: list[dict[str, object]] = []
    for j, new_id in enumerate(new_ids):
        closest = int(np.argmax(overlap[:, j])) if old_ids.size else None
        if j in pairs:
            i = pairs[j]
            new_to_stable[int(new_id)] = int(old_ids[i])
            old_id = int(old_ids[i])
            rows.append(_match_row(old_id, "kept", old_id, distance, i, j, overlap))
        else:
            new_to_stable[int(new_id)] = next_id
            status = "new" if old_ids.size else "first"
            closest_id = int(old_ids[closest]) if closest is not None else None
            rows.append(_match_row(next_id, status, closest_id, distance, closest, j, overlap))
            next_id += 1
    kept_old = set(pairs.values())
    for i, old_id in enumerate(old_ids):
        if i in kept_old:
            continue
        j = int(np.argmax(overlap[i, :])) if new_ids.size else None
        successor = new_to_stable[int(new_ids[j])] if j is not None else None
        rows.append(_match_row(int(old_id), "retired", successor, distance, i, j, overlap))
    return SegmentMatch(new_to_stable, rows)


def _match_row(
    segment_id: int,
    status: str,
    closest: int | None,
    distance: np.ndarray,
    i: int | None,
    j: int | None,
    overlap: np.ndarray,
) -> dict[str, object]:
    paired = i is not None and j is not None
    return {
        "segment_id": segment_id,
        "status": status,
        "closest_segment_id": closest,
        "centroid_distance": float(distance[i, j])
        if paired and distance.size and np.isfinite(distance[i, j])
        else None,
        "customer_overlap": float(overlap[i, j]) if paired else None,
    }


def _floats(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _present(value: object) -> bool:
    return value is not None and not pd.isna(value)


def assignments(
    features: pd.DataFrame,
    params: pd.DataFrame,
    representatives: pd.DataFrame,
    model: pd.DataFrame,
) -> pd.DataFrame:
    """The rows of ``ml_customer_assignments`` for ``features``, column for column as the SQL
    scoring (``macros/kept_model_scoring.sql``) makes them.

    The SQL scores every customer where the data lives; this serves a fit that runs beside dbt
    (:mod:`segmentation.warehouse_fit`), whose evaluation and persona steps need the
    assignments of the customers it read before dbt has scored anyone.
    """
    from segmentation.io.tables import conform, empty

    if features.empty or model.empty:
        return empty("ml_customer_assignments")
    kept = model.iloc[0]
    scores = score(features, params, representatives)
    outliers = np.zeros(len(features), dtype=np.int64)
    for _, row in used_params(params).iterrows():
        if _present(row["clip_lower"]):
            values = imputed_values(features, row)
            outside = (values < float(row["clip_lower"])) | (values > float(row["clip_upper"]))
            outliers += outside.astype(np.int64)
    as_of = pd.to_datetime(features["as_of_date"])
    trained = pd.Timestamp(kept["as_of_date"])
    in_fit_sample = int(kept["fit_sample_size"]) == int(kept["n_customers"])
    first_order = pd.to_datetime(features["first_order_at"])
    frame = pd.DataFrame(
        {
            "customer_id": scores.customer_ids,
            "segment_id": scores.segment_ids.astype(np.int64),
            "model_version_id": str(kept["model_version_id"]),
            "as_of_date": as_of.to_numpy(),
            "distance_to_representative": scores.distances,
            "assignment_method": "nearest_representative",
            "is_in_fit_sample": (first_order < trained).to_numpy() & in_fit_sample,
            "is_noise": False,
            "outlier_feature_count": outliers,
            "is_outlier": outliers > 0,
        }
    )
    return conform(frame, "ml_customer_assignments")

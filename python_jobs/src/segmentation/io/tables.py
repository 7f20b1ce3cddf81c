"""Column types of the tables the engine returns to dbt.

Every output frame goes through :func:`conform`, so a table has the same warehouse types whether
it has rows or not (an empty or all-NULL pandas object column would become DuckDB's NULL type)
and the column order is fixed.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

# kind -> how a column of that kind is stored in pandas (and so in the warehouse)
_STRING, _INT, _NINT, _FLOAT, _BOOL, _DATE, _TIMESTAMP = (
    "string",
    "int",
    "nullable_int",
    "float",
    "bool",
    "date",
    "timestamp",
)

SCHEMAS: dict[str, dict[str, str]] = {
    "ml_feature_transform_params": {
        "feature_name": _STRING,
        "feature_position": _INT,
        "is_used": _BOOL,
        "exclusion_reason": _STRING,
        "imputation_rule": _STRING,
        "imputation_column": _STRING,
        "imputation_value": _FLOAT,
        "missing_count": _INT,
        "clip_lower": _FLOAT,
        "clip_upper": _FLOAT,
        "clipped_low_count": _INT,
        "clipped_high_count": _INT,
        "is_log1p": _BOOL,
        "scaler": _STRING,
        "centre": _FLOAT,
        "scale": _FLOAT,
        "is_sql_scorable": _BOOL,
        "sql_expression": _STRING,
    },
    "ml_model_candidates": {
        "candidate_id": _STRING,
        "algorithm": _STRING,
        "parameters": _STRING,
        "n_segments_requested": _NINT,
        "status": _STRING,
        "status_message": _STRING,
        "n_segments": _INT,
        "n_customers": _INT,
        "fit_sample_size": _NINT,
        "fit_seconds": _FLOAT,
        "score_seconds": _FLOAT,
        "silhouette": _FLOAT,
        "davies_bouldin": _FLOAT,
        "calinski_harabasz": _FLOAT,
        "inertia": _FLOAT,
        "bic": _FLOAT,
        "cluster_sizes": _STRING,
        "smallest_segment_share": _FLOAT,
        "noise_share": _FLOAT,
        "is_qualified": _BOOL,
        "qualification_note": _STRING,
        "rank": _NINT,
        "is_winner": _BOOL,
        "selection_reason": _STRING,
    },
    "ml_algorithm_agreement": {
        "algorithm_a": _STRING,
        "candidate_id_a": _STRING,
        "algorithm_b": _STRING,
        "candidate_id_b": _STRING,
        "adjusted_rand_index": _FLOAT,
        "n_customers": _INT,
    },
    "ml_segment_model": {
        "model_version_id": _STRING,
        "candidate_id": _STRING,
        "algorithm": _STRING,
        "parameters": _STRING,
        "n_segments": _INT,
        "random_state": _INT,
        "as_of_date": _DATE,
        "training_first_order_at": _TIMESTAMP,
        "training_last_order_at": _TIMESTAMP,
        "n_customers": _INT,
        "fit_sample_size": _INT,
        "features_used": _STRING,
        "scaler": _STRING,
        "pca_components": _STRING,
        "is_sql_scorable": _BOOL,
        "assignment_rule": _STRING,
        "silhouette": _FLOAT,
        "davies_bouldin": _FLOAT,
        "calinski_harabasz": _FLOAT,
        "selection_reason": _STRING,
        "used_fallback": _BOOL,
        "package_versions": _STRING,
        "settings_json": _STRING,
    },
    "ml_segment_representatives": {
        "model_version_id": _STRING,
        "segment_id": _INT,
        "feature_name": _STRING,
        "is_model_input": _BOOL,
        "value_scaled": _FLOAT,
        "value_original": _FLOAT,
        "member_mean": _FLOAT,
        "member_median": _FLOAT,
    },
    "ml_customer_assignments": {
        "customer_id": _STRING,
        "segment_id": _INT,
        "model_version_id": _STRING,
        "as_of_date": _DATE,
        "distance_to_representative": _FLOAT,
        "assignment_method": _STRING,
        "is_in_fit_sample": _BOOL,
        "is_noise": _BOOL,
        "outlier_feature_count": _INT,
        "is_outlier": _BOOL,
    },
}


def columns(table: str) -> tuple[str, ...]:
    """Column names of ``table`` in order."""
    return tuple(SCHEMAS[table])


def empty(table: str) -> pd.DataFrame:
    """A typed table with no rows."""
    return conform(pd.DataFrame({name: [] for name in SCHEMAS[table]}), table)


def conform(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """``frame`` with exactly the columns of ``table``, in order, cast to their types.

    Raises ``ValueError`` naming missing or unexpected columns (a programming error).
    """
    schema = SCHEMAS[table]
    missing = [name for name in schema if name not in frame.columns]
    extra = [name for name in frame.columns if name not in schema]
    if missing or extra:
        raise ValueError(f"{table}: missing columns {missing}, unexpected columns {extra}")
    return pd.DataFrame(
        {name: _cast(frame[name], kind) for name, kind in schema.items()}, index=frame.index
    ).reset_index(drop=True)


def _cast(values: pd.Series, kind: str) -> pd.Series:
    if kind == _STRING:
        return values.astype(object).where(values.notna(), None).astype("string")
    if kind == _INT:
        return values.astype("int64")
    if kind == _NINT:
        return pd.to_numeric(values.astype(object).where(values.notna(), None)).astype("Int64")
    if kind == _FLOAT:
        return pd.to_numeric(values.astype(object).where(values.notna(), None)).astype("float64")
    if kind == _BOOL:
        return values.astype(bool)
    if kind == _DATE:
        days = pd.to_datetime(values.astype(object).where(values.notna(), None))
        array = pa.array(days.to_numpy(dtype="datetime64[D]"), from_pandas=True)
        return pd.Series(array, dtype=pd.ArrowDtype(pa.date32()), index=values.index)
    if kind == _TIMESTAMP:
        return pd.to_datetime(values.astype(object).where(values.notna(), None)).astype(
            "datetime64[us]"
        )
    raise ValueError(f"unknown column kind {kind!r}")

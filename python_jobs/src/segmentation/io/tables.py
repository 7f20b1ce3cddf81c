"""The one registry of output tables: every table a dbt Python model returns, its columns and
their types.

Every output frame goes through :func:`conform`, so a table has the same warehouse types whether
it has rows or not (an empty or all-NULL pandas object column would become DuckDB's NULL type)
and the column order is fixed. The column lists here match the models' YAML; the types are
kinds, each stored one way in pandas (and so in the warehouse).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import pyarrow as pa

STRING = "string"
INT = "int"  # never NULL
NULLABLE_INT = "nullable_int"
FLOAT = "float"  # NULL as NaN
BOOL = "bool"
DATE = "date"
TIMESTAMP = "timestamp"

# Tables of the clustering engine (segmentation.engine.fit); the registry keeps versions of them.
_ENGINE: dict[str, dict[str, str]] = {
    "ml_feature_transform_params": {
        "feature_name": STRING,
        "feature_position": INT,
        "is_used": BOOL,
        "exclusion_reason": STRING,
        "imputation_rule": STRING,
        "imputation_column": STRING,
        "imputation_value": FLOAT,
        "missing_count": INT,
        "clip_lower": FLOAT,
        "clip_upper": FLOAT,
        "clipped_low_count": INT,
        "clipped_high_count": INT,
        "is_log1p": BOOL,
        "scaler": STRING,
        "centre": FLOAT,
        "scale": FLOAT,
        "is_sql_scorable": BOOL,
        "sql_expression": STRING,
    },
    "ml_model_candidates": {
        "candidate_id": STRING,
        "algorithm": STRING,
        "parameters": STRING,
        "n_segments_requested": NULLABLE_INT,
        "status": STRING,
        "status_message": STRING,
        "n_segments": INT,
        "n_customers": INT,
        "fit_sample_size": NULLABLE_INT,
        "fit_seconds": FLOAT,
        "score_seconds": FLOAT,
        "silhouette": FLOAT,
        "davies_bouldin": FLOAT,
        "calinski_harabasz": FLOAT,
        "inertia": FLOAT,
        "bic": FLOAT,
        "cluster_sizes": STRING,
        "smallest_segment_share": FLOAT,
        "noise_share": FLOAT,
        "segments_json": STRING,
        "min_segment_stability": FLOAT,
        "mean_segment_stability": FLOAT,
        "is_qualified": BOOL,
        "qualification_note": STRING,
        "rank": NULLABLE_INT,
        "is_winner": BOOL,
        "selection_reason": STRING,
    },
    "ml_algorithm_agreement": {
        "algorithm_a": STRING,
        "candidate_id_a": STRING,
        "algorithm_b": STRING,
        "candidate_id_b": STRING,
        "adjusted_rand_index": FLOAT,
        "n_customers": INT,
    },
    "ml_segment_model": {
        "model_version_id": STRING,
        "candidate_id": STRING,
        "algorithm": STRING,
        "parameters": STRING,
        "n_segments": INT,
        "random_state": INT,
        "as_of_date": DATE,
        "training_first_order_at": TIMESTAMP,
        "training_last_order_at": TIMESTAMP,
        "n_customers": INT,
        "fit_sample_size": INT,
        "features_used": STRING,
        "scaler": STRING,
        "pca_components": STRING,
        "is_sql_scorable": BOOL,
        "assignment_rule": STRING,
        "silhouette": FLOAT,
        "davies_bouldin": FLOAT,
        "calinski_harabasz": FLOAT,
        "selection_reason": STRING,
        "used_fallback": BOOL,
        "package_versions": STRING,
        "settings_json": STRING,
    },
    "ml_segment_representatives": {
        "model_version_id": STRING,
        "segment_id": INT,
        "feature_name": STRING,
        "is_model_input": BOOL,
        "value_scaled": FLOAT,
        "value_original": FLOAT,
        "member_mean": FLOAT,
        "member_median": FLOAT,
    },
    "ml_customer_assignments": {
        "customer_id": STRING,
        "segment_id": INT,
        "model_version_id": STRING,
        "as_of_date": DATE,
        "distance_to_representative": FLOAT,
        "assignment_method": STRING,
        "is_in_fit_sample": BOOL,
        "is_noise": BOOL,
        "outlier_feature_count": INT,
        "is_outlier": BOOL,
    },
}

SCHEMAS: dict[str, dict[str, str]] = {
    **_ENGINE,
    # -- the model registry (segmentation.registry)
    "ml_registry_runs": {
        "run_id": INT,
        "as_of_date": DATE,
        "decision": STRING,
        "is_training_run": BOOL,
        "model_version_id": STRING,
        "incumbent_model_version_id": STRING,
        "reason_codes": STRING,
        "decision_reason": STRING,
        "retrain_requested": BOOL,
        "n_customers": INT,
        "input_fingerprint": STRING,
        "settings_json": STRING,
        "policy_json": STRING,
        "signals_json": STRING,
        "model_json": STRING,
        "created_at": TIMESTAMP,
    },
    "ml_model_registry": {
        **_ENGINE["ml_segment_model"],
        "model_version_number": INT,
        "previous_model_version_id": STRING,
        "trained_in_run_id": INT,
        "training_reason_codes": STRING,
        "training_reason": STRING,
        "segments_kept": INT,
        "segments_new": INT,
        "segments_retired": INT,
        "max_segment_id": INT,
    },
    "ml_registry_transform_params": {
        "model_version_id": STRING,
        **_ENGINE["ml_feature_transform_params"],
    },
    "ml_registry_representatives": dict(_ENGINE["ml_segment_representatives"]),
    "ml_registry_feature_bins": {
        "model_version_id": STRING,
        "feature_name": STRING,
        "bin_index": INT,
        "lower_edge": FLOAT,
        "upper_edge": FLOAT,
        "training_share": FLOAT,
        "drift_scale": STRING,
    },
    "ml_segment_lineage": {
        "model_version_id": STRING,
        "previous_model_version_id": STRING,
        "segment_id": INT,
        "status": STRING,
        "closest_segment_id": NULLABLE_INT,
        "centroid_distance": FLOAT,
        "customer_overlap": FLOAT,
        "training_customer_count": NULLABLE_INT,
        "training_customer_share": FLOAT,
    },
    "ml_model_migration": {
        "model_version_id": STRING,
        "previous_model_version_id": STRING,
        "from_segment_id": INT,
        "to_segment_id": INT,
        "customer_count": INT,
        "share_of_from_segment": FLOAT,
        "share_of_to_segment": FLOAT,
    },
    # -- monitoring (segmentation.registry.monitoring)
    "mon_feature_drift": {
        "run_id": INT,
        "as_of_date": DATE,
        "model_version_id": STRING,
        "feature_name": STRING,
        "psi": FLOAT,
        "psi_band": STRING,
        "max_feature_psi": FLOAT,
        "is_above_threshold": BOOL,
        "counts_for_policy": BOOL,
        "n_bins": INT,
        "drift_scale": STRING,
        "is_latest_run": BOOL,
    },
    "mon_segment_size_drift": {
        "run_id": INT,
        "as_of_date": DATE,
        "model_version_id": STRING,
        "segment_id": INT,
        "training_share": FLOAT,
        "current_share": FLOAT,
        "share_change": FLOAT,
        "customer_count": INT,
        "psi_term": FLOAT,
        "segment_size_psi": FLOAT,
        "is_latest_run": BOOL,
    },
    "mon_retraining_policy": {
        "run_id": INT,
        "as_of_date": DATE,
        "model_version_id": STRING,
        "decision": STRING,
        "rule_name": STRING,
        "description": STRING,
        "observed_value": FLOAT,
        "threshold": FLOAT,
        "is_triggered": BOOL,
        "detail": STRING,
        "is_latest_run": BOOL,
    },
    # -- evaluation (segmentation.evaluation.tables)
    "ml_segment_stability": {
        "model_version_id": STRING,
        "segment_id": INT,
        "customer_count": INT,
        "sample_customer_count": INT,
        "mean_jaccard": FLOAT,
        "median_jaccard": FLOAT,
        "min_jaccard": FLOAT,
        "resamples": INT,
        "resamples_with_segment": INT,
        "dissolved_count": INT,
        "recovered_count": INT,
        "stability_class": STRING,
        "evaluation_key": STRING,
    },
    "ml_prediction_strength": {
        "model_version_id": STRING,
        "algorithm": STRING,
        "n_segments": INT,
        "splits": INT,
        "sample_size": INT,
        "mean_prediction_strength": FLOAT,
        "std_prediction_strength": FLOAT,
        "min_prediction_strength": FLOAT,
        "threshold": FLOAT,
        "is_supported": BOOL,
        "is_largest_supported": BOOL,
        "is_model_k": BOOL,
        "evaluation_key": STRING,
    },
    "ml_seed_agreement": {
        "model_version_id": STRING,
        "seed": INT,
        "sample_size": INT,
        "n_segments_found": INT,
        "noise_share": FLOAT,
        "adjusted_rand_index_vs_model": FLOAT,
        "mean_adjusted_rand_index_vs_other_seeds": FLOAT,
        "min_adjusted_rand_index_vs_other_seeds": FLOAT,
        "evaluation_key": STRING,
    },
    "ml_customer_evaluation": {
        "customer_id": STRING,
        "model_version_id": STRING,
        "segment_id": INT,
        "distance_to_representative": FLOAT,
        "second_segment_id": NULLABLE_INT,
        "distance_to_second_representative": FLOAT,
        "assignment_margin": FLOAT,
        "is_borderline": BOOL,
        "silhouette": FLOAT,
        "silhouette_method": STRING,
    },
    "ml_segment_evaluation": {
        "model_version_id": STRING,
        "candidate_id": STRING,
        "algorithm": STRING,
        "n_segments": INT,
        "n_customers": INT,
        "n_customers_evaluated": INT,
        "assignment_rule": STRING,
        "smallest_segment_share": FLOAT,
        "valuable_segment_count": INT,
        "smallest_regular_segment_share": FLOAT,
        "noise_share": FLOAT,
        "silhouette": FLOAT,
        "silhouette_sample_size": INT,
        "silhouette_all_customers": FLOAT,
        "borderline_share": FLOAT,
        "mean_bootstrap_stability": FLOAT,
        "min_segment_stability": FLOAT,
        "dissolved_segment_count": INT,
        "bootstrap_resamples": INT,
        "bootstrap_sample_size": INT,
        "prediction_strength_algorithm": STRING,
        "prediction_strength_at_model_k": FLOAT,
        "prediction_strength_supported_k": NULLABLE_INT,
        "prediction_strength_threshold": FLOAT,
        "seed_agreement_mean_ari": FLOAT,
        "seed_agreement_min_ari": FLOAT,
        "seed_agreement_mean_ari_vs_model": FLOAT,
        "seed_count": INT,
        "external_validation_status": STRING,
        "external_customer_count": INT,
        "external_class_count": INT,
        "external_adjusted_rand_index": FLOAT,
        "external_normalized_mutual_info": FLOAT,
        "evaluation_random_state": INT,
        "evaluation_settings_json": STRING,
    },
    # -- segments in words (segmentation.describe)
    "ml_feature_roles": {
        "model_version_id": STRING,
        "feature_name": STRING,
        "feature_label": STRING,
        "feature_position": INT,
        "feature_role": STRING,
        "is_model_input": BOOL,
        "role_reason": STRING,
        "missing_share": FLOAT,
        "zero_share": FLOAT,
    },
    "ml_segment_profiles": {
        "segment_id": INT,
        "feature_name": STRING,
        "feature_label": STRING,
        "feature_unit": STRING,
        "feature_position": INT,
        "feature_role": STRING,
        "customer_count": INT,
        "segment_mean": FLOAT,
        "segment_median": FLOAT,
        "population_mean": FLOAT,
        "population_median": FLOAT,
        "population_std": FLOAT,
        "lift": FLOAT,
        "z_score": FLOAT,
        "segment_rank": NULLABLE_INT,
        "distinctiveness_rank": NULLABLE_INT,
    },
    "ml_segment_personas": {
        "segment_id": INT,
        "persona_name": STRING,
        "persona_rule_priority": NULLABLE_INT,
        "persona_description": STRING,
        "persona_reason": STRING,
        "recommended_action": STRING,
        "typical_order_value": FLOAT,
        "typical_orders": FLOAT,
        "typical_days_between_orders": FLOAT,
        "cadence_description": STRING,
        "distinctive_features": STRING,
    },
    "ml_segment_persona_claims": {
        "segment_id": INT,
        "persona_name": STRING,
        "claim_source": STRING,
        "feature_name": STRING,
        "statistic": STRING,
        "comparison": STRING,
        "threshold": FLOAT,
        "observed_value": FLOAT,
    },
    "ml_segment_explanation_rules": {
        "segment_id": INT,
        "rule_text": STRING,
        "condition_count": INT,
        "conditions_json": STRING,
        "customer_count": INT,
        "segment_customer_count": INT,
        "rule_precision": FLOAT,
        "rule_coverage": FLOAT,
    },
    "ml_segment_explanation_fit": {
        "n_customers": INT,
        "fit_customers": INT,
        "n_segments": INT,
        "explained_segment_count": INT,
        "max_depth": INT,
        "tree_depth": INT,
        "leaf_count": INT,
        "min_samples_leaf": INT,
        "features_offered": STRING,
        "features_used": STRING,
        "feature_importances": STRING,
        "fidelity": FLOAT,
        "cross_validated_fidelity": FLOAT,
        "cross_validation_customers": INT,
        "random_state": INT,
    },
}


def columns(table: str) -> tuple[str, ...]:
    """Column names of ``table`` in order."""
    return tuple(SCHEMAS[table])


def empty(table: str) -> pd.DataFrame:
    """A typed table with no rows."""
    return conform([], table)


def conform(rows: pd.DataFrame | Sequence[Mapping], table: str) -> pd.DataFrame:
    """``rows`` (a frame, or records) with exactly the columns of ``table``, in order, cast to
    their types.

    Records are read by column name (keys outside the table are ignored); a frame must have
    exactly the table's columns: else ``ValueError`` names the missing and unexpected ones (a
    programming error).
    """
    schema = SCHEMAS[table]
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=[*schema])
    missing = [name for name in schema if name not in frame.columns]
    extra = [name for name in frame.columns if name not in schema]
    if missing or extra:
        raise ValueError(f"{table}: missing columns {missing}, unexpected columns {extra}")
    return pd.DataFrame(
        {name: _cast(frame[name], kind) for name, kind in schema.items()}, index=frame.index
    ).reset_index(drop=True)


def _cast(values: pd.Series, kind: str) -> pd.Series:
    if kind == STRING:
        return values.astype(object).where(values.notna(), None).astype("string")
    if kind == INT:
        return values.astype("int64")
    if kind == NULLABLE_INT:
        return pd.to_numeric(values.astype(object).where(values.notna(), None)).astype("Int64")
    if kind == FLOAT:
        return pd.to_numeric(values.astype(object).where(values.notna(), None)).astype("float64")
    if kind == BOOL:
        return values.astype(bool)
    if kind == DATE:
        days = pd.to_datetime(values.astype(object).where(values.notna(), None))
        array = pa.array(days.to_numpy(dtype="datetime64[D]"), from_pandas=True)
        return pd.Series(array, dtype=pd.ArrowDtype(pa.date32()), index=values.index)
    if kind == TIMESTAMP:
        return pd.to_datetime(values.astype(object).where(values.notna(), None)).astype(
            "datetime64[us]"
        )
    raise ValueError(f"unknown column kind {kind!r}")

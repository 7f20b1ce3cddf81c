"""Adjusted Rand index between the best partitions of each pair of algorithms.

Logic: python_jobs/src/segmentation/selection.py (through engine.algorithm_agreement).
"""

from segmentation.dbt_io import to_pandas
from segmentation.engine import algorithm_agreement
from segmentation.settings import SegmentationSettings


def model(dbt, session):
    dbt.config(materialized="table")
    settings = SegmentationSettings.from_mapping(dbt.config.get("segmentation"))
    features = to_pandas(dbt.ref("fct_customer_features"))
    params = to_pandas(dbt.ref("ml_feature_transform_params"))
    candidates = to_pandas(dbt.ref("ml_model_candidates"))
    return algorithm_agreement(features, params, candidates, settings)

"""The kept segmentation model: one row describing the winning candidate.

Logic: python_jobs/src/segmentation/engine.py (through engine.segment_model).
"""

from segmentation.dbt_io import to_pandas
from segmentation.engine import segment_model
from segmentation.settings import SegmentationSettings


def model(dbt, session):
    dbt.config(materialized="table")
    settings = SegmentationSettings.from_mapping(dbt.config.get("segmentation"))
    features = to_pandas(dbt.ref("fct_customer_features"))
    params = to_pandas(dbt.ref("ml_feature_transform_params"))
    candidates = to_pandas(dbt.ref("ml_model_candidates"))
    return segment_model(features, params, candidates, settings)

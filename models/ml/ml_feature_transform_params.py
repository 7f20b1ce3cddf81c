"""Fitted feature transformation, one row per configured feature.

Logic: python_jobs/src/segmentation/prepare.py (through engine.transform_params).
"""

from segmentation.dbt_io import to_pandas
from segmentation.engine import transform_params
from segmentation.settings import SegmentationSettings


def model(dbt, session):
    dbt.config(materialized="table")
    settings = SegmentationSettings.from_mapping(dbt.config.get("segmentation"))
    features = to_pandas(dbt.ref("fct_customer_features"))
    return transform_params(features, settings)

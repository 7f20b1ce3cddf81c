"""Readable rules of a shallow surrogate decision tree, one row per leaf.

Logic: python_jobs/src/segmentation/describe/explain.py.
"""

from segmentation.config.segmentation import SegmentationSettings
from segmentation.describe.explain import explanation_rules
from segmentation.io.dbt_io import to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    settings = SegmentationSettings.from_mapping(dbt.config.get("segmentation"))
    features = to_pandas(dbt.ref("fct_customer_features"))
    assignments = to_pandas(dbt.ref("ml_customer_assignments"))
    return explanation_rules(
        features,
        assignments,
        settings.preparation.features,
        max_depth=int(dbt.config.get("explanation_tree_max_depth")),
        random_state=settings.random_state,
    )

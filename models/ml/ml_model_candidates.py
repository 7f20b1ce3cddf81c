"""Every candidate clustering (algorithm x parameters) with its metrics and the selection.

Logic: python_jobs/src/segmentation/{algorithms,selection}.py (through engine.model_candidates).
"""

from segmentation.dbt_io import to_pandas
from segmentation.engine import model_candidates
from segmentation.settings import SegmentationSettings


def model(dbt, session):
    dbt.config(materialized="table")
    settings = SegmentationSettings.from_mapping(dbt.config.get("segmentation"))
    features = to_pandas(dbt.ref("fct_customer_features"))
    params = to_pandas(dbt.ref("ml_feature_transform_params"))
    return model_candidates(features, params, settings)

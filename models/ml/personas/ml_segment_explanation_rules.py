"""One readable rule per segment: at most three conditions on the defining features.

Logic: python_jobs/src/segmentation/describe/rules.py.
"""

from segmentation.config.segmentation import SegmentationSettings
from segmentation.describe.rules import segment_rules
from segmentation.io.dbt_io import to_pandas


def model(dbt, session):
    settings = SegmentationSettings.from_mapping(dbt.config.get("segmentation"))
    features = to_pandas(dbt.ref("fct_customer_features"))
    assignments = to_pandas(dbt.ref("ml_customer_assignments"))
    return segment_rules(
        features,
        assignments,
        settings.preparation.features,
        random_state=settings.random_state,
        fit_sample_size=int(dbt.config.get("explanation_fit_sample_size")),
    )

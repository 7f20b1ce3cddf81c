"""The surrogate decision tree in one row: its settings and fidelity to the assignments.

Logic: python_jobs/src/segmentation/describe/explain.py.
"""

from segmentation.config.segmentation import SegmentationSettings
from segmentation.describe.explain import explanation_fit
from segmentation.io.dbt_io import to_pandas


def model(dbt, session):
    settings = SegmentationSettings.from_mapping(dbt.config.get("segmentation"))
    features = to_pandas(dbt.ref("fct_customer_features"))
    assignments = to_pandas(dbt.ref("ml_customer_assignments"))
    return explanation_fit(
        features,
        assignments,
        settings.preparation.features,
        max_depth=int(dbt.config.get("explanation_tree_max_depth")),
        random_state=settings.random_state,
        cv_sample_size=int(dbt.config.get("explanation_cv_sample_size")),
        fit_sample_size=int(dbt.config.get("explanation_fit_sample_size")),
    )

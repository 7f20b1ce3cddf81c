"""Bootstrap (clusterboot) stability of every segment of the kept model.

Logic: python_jobs/src/segmentation/evaluation/metrics.py (through evaluation/tables.py
segment_stability).
"""

from segmentation.config.evaluation import EvaluationSettings
from segmentation.evaluation.tables import segment_stability
from segmentation.io.dbt_io import existing_rows, to_pandas


def model(dbt, session):
    settings = EvaluationSettings.from_mapping(dbt.config.get("evaluation"))
    return segment_stability(
        to_pandas(dbt.ref("fct_customer_features")),
        to_pandas(dbt.ref("ml_feature_transform_params")),
        to_pandas(dbt.ref("ml_segment_model")),
        to_pandas(dbt.ref("ml_customer_assignments")),
        settings,
        previous=existing_rows(session, dbt.this),
    )

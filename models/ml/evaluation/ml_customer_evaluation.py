"""How well every customer fits its segment: distances, margin and silhouette.

Logic: python_jobs/src/segmentation/evaluation/metrics.py (through evaluation/tables.py
customer_evaluation).
"""

from segmentation.config.evaluation import EvaluationSettings
from segmentation.evaluation.tables import customer_evaluation
from segmentation.io.dbt_io import to_pandas


def model(dbt, session):
    settings = EvaluationSettings.from_mapping(dbt.config.get("evaluation"))
    return customer_evaluation(
        to_pandas(dbt.ref("fct_customer_features")),
        to_pandas(dbt.ref("ml_feature_transform_params")),
        to_pandas(dbt.ref("ml_segment_model")),
        to_pandas(dbt.ref("ml_segment_representatives")),
        to_pandas(dbt.ref("ml_customer_assignments")),
        settings,
    )

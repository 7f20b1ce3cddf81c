"""Agreement of the winner refitted with other seeds (adjusted Rand index).

Logic: python_jobs/src/segmentation/evaluation/metrics.py (through evaluation/tables.py
seed_agreement).
"""

from segmentation.config.evaluation import EvaluationSettings
from segmentation.evaluation.tables import seed_agreement
from segmentation.io.dbt_io import existing_rows, to_pandas


def model(dbt, session):
    settings = EvaluationSettings.from_mapping(dbt.config.get("evaluation"))
    return seed_agreement(
        to_pandas(dbt.ref("fct_customer_features")),
        to_pandas(dbt.ref("ml_feature_transform_params")),
        to_pandas(dbt.ref("ml_segment_model")),
        to_pandas(dbt.ref("ml_customer_assignments")),
        settings,
        previous=existing_rows(session, dbt.this),
    )

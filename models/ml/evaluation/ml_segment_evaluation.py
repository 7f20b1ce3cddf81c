"""One row summarising the evaluation of the kept model; the quality gates test this table.

Logic: python_jobs/src/segmentation/evaluation/tables.py (segment_evaluation).
"""

from segmentation.config.evaluation import EvaluationSettings
from segmentation.evaluation.tables import segment_evaluation
from segmentation.io.dbt_io import to_pandas


def model(dbt, session):
    settings = EvaluationSettings.from_mapping(dbt.config.get("evaluation"))

    # Read only when there is a model to evaluate (a build of models/ml alone on an empty
    # feature table has no staging layer). A nested function, not a lambda in the call, so
    # that dbt's parser sees the ref.
    def archetypes():
        return to_pandas(dbt.ref("stg_shop__customer_archetypes"))

    return segment_evaluation(
        model=to_pandas(dbt.ref("ml_segment_model")),
        features=to_pandas(dbt.ref("fct_customer_features")),
        assignments=to_pandas(dbt.ref("ml_customer_assignments")),
        stability=to_pandas(dbt.ref("ml_segment_stability")),
        strength=to_pandas(dbt.ref("ml_prediction_strength")),
        seeds=to_pandas(dbt.ref("ml_seed_agreement")),
        customers=to_pandas(dbt.ref("ml_customer_evaluation")),
        archetypes=archetypes,
        settings=settings,
    )

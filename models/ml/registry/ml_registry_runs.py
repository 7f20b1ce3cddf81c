"""The registry log: one row per scoring run; training runs carry the fitted model.

Incremental and never rebuilt (full_refresh=False): `dbt build --full-refresh` keeps every row.
Logic: python_jobs/src/segmentation/registry/runs.py (registry_run: policy, retrain, stable ids).
"""

from segmentation.config.retraining import RetrainingPolicy, parse_flag
from segmentation.config.segmentation import SegmentationSettings
from segmentation.io.dbt_io import existing_rows, to_pandas
from segmentation.registry.runs import registry_run


def model(dbt, session):
    # materialized: incremental where dbt runs Python models (dbt_project.yml)
    dbt.config(incremental_strategy="append", full_refresh=False)
    settings = SegmentationSettings.from_mapping(dbt.config.get("segmentation"))
    policy = RetrainingPolicy.from_mapping(dbt.config.get("retraining_policy"))
    retrain = parse_flag(dbt.config.get("retrain"))
    features = to_pandas(dbt.ref("fct_customer_features"))
    previous = existing_rows(session, dbt.this) if dbt.is_incremental else None
    return registry_run(features, previous, settings, policy, retrain)

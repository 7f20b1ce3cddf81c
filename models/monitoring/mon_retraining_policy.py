"""Every retraining-policy rule per scoring run, with its figures, from the registry log.

Logic: python_jobs/src/segmentation/registry/monitoring.py (retraining_policy).
"""

from segmentation.io.dbt_io import to_pandas
from segmentation.registry.monitoring import retraining_policy


def model(dbt, session):
    return retraining_policy(to_pandas(dbt.ref("ml_registry_runs")))

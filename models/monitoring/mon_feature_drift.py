"""Feature drift (PSI) per scoring run and model input, from the registry log.

Logic: python_jobs/src/segmentation/registry/monitoring.py (feature_drift).
"""

from segmentation.io.dbt_io import to_pandas
from segmentation.registry.monitoring import feature_drift


def model(dbt, session):
    return feature_drift(to_pandas(dbt.ref("ml_registry_runs")))

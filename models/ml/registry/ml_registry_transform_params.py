"""The feature transform of every model version, rebuilt from the registry log.

Logic: python_jobs/src/segmentation/registry/tables.py (registry_transform_params).
"""

from segmentation.io.dbt_io import to_pandas
from segmentation.registry.tables import registry_transform_params


def model(dbt, session):
    return registry_transform_params(to_pandas(dbt.ref("ml_registry_runs")))

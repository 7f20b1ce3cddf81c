"""The representatives of every model version, rebuilt from the registry log.

Logic: python_jobs/src/segmentation/registry/tables.py (registry_representatives).
"""

from segmentation.io.dbt_io import to_pandas
from segmentation.registry.tables import registry_representatives


def model(dbt, session):
    return registry_representatives(to_pandas(dbt.ref("ml_registry_runs")))

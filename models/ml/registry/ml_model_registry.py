"""Every model version ever trained, one row each, rebuilt from the registry log.

Logic: python_jobs/src/segmentation/registry/tables.py (model_registry).
"""

from segmentation.io.dbt_io import to_pandas
from segmentation.registry.tables import model_registry


def model(dbt, session):
    return model_registry(to_pandas(dbt.ref("ml_registry_runs")))

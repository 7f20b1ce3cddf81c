"""The kept segmentation model: the record of the version in force after the latest run.

Logic: python_jobs/src/segmentation/registry/tables.py (current_model).
"""

from segmentation.io.dbt_io import to_pandas
from segmentation.registry.tables import current_model


def model(dbt, session):
    return current_model(to_pandas(dbt.ref("ml_registry_runs")))

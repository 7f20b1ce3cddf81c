"""The kept model's feature transformation, one row per configured feature.

Logic: python_jobs/src/segmentation/registry/tables.py (current_part).
"""

from segmentation.io.dbt_io import to_pandas
from segmentation.registry.tables import current_part


def model(dbt, session):
    return current_part(to_pandas(dbt.ref("ml_registry_runs")), "params")

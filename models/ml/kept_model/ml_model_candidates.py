"""The candidates searched when the kept model was trained, with their metrics and the selection.

Logic: python_jobs/src/segmentation/registry/tables.py (current_part).
"""

from segmentation.io.dbt_io import to_pandas
from segmentation.registry.tables import current_part


def model(dbt, session):
    return current_part(to_pandas(dbt.ref("ml_registry_runs")), "candidates")

"""What each retrain changed for the customers: from the replaced model's segments to the new
model's, both scoring the new version's training customers.

Logic: python_jobs/src/segmentation/registry/migration.py (migration_rows), read from the run log
by python_jobs/src/segmentation/registry/tables.py (model_migration).
"""

from segmentation.io.dbt_io import to_pandas
from segmentation.registry.tables import model_migration


def model(dbt, session):
    return model_migration(to_pandas(dbt.ref("ml_registry_runs")))

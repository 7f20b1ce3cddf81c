"""The training bins of every model version (the PSI reference), from the registry log.

Logic: python_jobs/src/segmentation/registry/tables.py (registry_feature_bins).
"""

from segmentation.io.dbt_io import to_pandas
from segmentation.registry.tables import registry_feature_bins


def model(dbt, session):
    return registry_feature_bins(to_pandas(dbt.ref("ml_registry_runs")))

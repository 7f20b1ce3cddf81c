"""How each version's segments continue the previous version's, from the registry log.

Logic: python_jobs/src/segmentation/registry/tables.py (segment_lineage).
"""

from segmentation.io.dbt_io import to_pandas
from segmentation.registry.tables import segment_lineage


def model(dbt, session):
    return segment_lineage(to_pandas(dbt.ref("ml_registry_runs")))

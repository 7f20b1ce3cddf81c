"""Segment-size drift per scoring run and segment, from the registry log.

Logic: python_jobs/src/segmentation/registry/monitoring.py (segment_size_drift).
"""

from segmentation.io.dbt_io import to_pandas
from segmentation.registry.monitoring import segment_size_drift


def model(dbt, session):
    return segment_size_drift(to_pandas(dbt.ref("ml_registry_runs")))

"""The Python environment of this build: package versions and BLAS/OpenMP thread pools.

It reads no table, so dbt starts it at once, beside the SQL models; loading the clustering
engine here also spares the first model that fits or scores (ml_registry_runs) the time it
takes to import scikit-learn. Logic: python_jobs/src/segmentation/engine/environment.py
(runtime_environment).
"""

from segmentation.engine.environment import runtime_environment


def model(dbt, session):
    return runtime_environment()

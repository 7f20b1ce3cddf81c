"""Every feature of every segment against all customers (segment x feature).

Logic: python_jobs/src/segmentation/describe/profiles.py.
"""

from segmentation.describe.profiles import segment_feature_profiles
from segmentation.io.dbt_io import to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    features = to_pandas(dbt.ref("fct_customer_features"))
    assignments = to_pandas(dbt.ref("ml_customer_assignments"))
    return segment_feature_profiles(features, assignments)

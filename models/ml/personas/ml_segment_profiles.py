"""Every feature of every segment against all customers (segment x feature), with its role.

Logic: python_jobs/src/segmentation/describe/profiles.py.
"""

from segmentation.describe.profiles import segment_feature_profiles
from segmentation.describe.roles import kept_model_roles
from segmentation.io.dbt_io import to_pandas


def model(dbt, session):
    features = to_pandas(dbt.ref("fct_customer_features"))
    assignments = to_pandas(dbt.ref("ml_customer_assignments"))
    defining, _, _ = kept_model_roles(to_pandas(dbt.ref("ml_segment_model")))
    return segment_feature_profiles(features, assignments, defining=defining)

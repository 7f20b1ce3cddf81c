"""Every customer feature's role in the kept model (defining or describing) and why, with the
engagement features and customer attributes when those optional inputs are loaded.

Logic: python_jobs/src/segmentation/describe/roles.py (segment profiles of the optional inputs:
describe/segment_inputs.py).
"""

from segmentation.describe.roles import feature_roles, kept_model_roles
from segmentation.describe.segment_inputs import optional_profiles
from segmentation.io.dbt_io import to_pandas


def model(dbt, session):
    features = to_pandas(dbt.ref("fct_customer_features"))
    defining, used, version = kept_model_roles(to_pandas(dbt.ref("ml_segment_model")))
    profiles = optional_profiles(
        to_pandas(dbt.ref("ml_customer_assignments")),
        to_pandas(dbt.ref("fct_customer_engagement")),
        to_pandas(dbt.ref("int_customer_attributes_current")),
    )
    optional = (profiles.engagement, profiles.attributes)
    return feature_roles(features, defining, used, version, optional)

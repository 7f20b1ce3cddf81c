"""Every statement a persona makes about its segment, for checking against the profile.

Logic: python_jobs/src/segmentation/describe/personas.py (channel and attributes:
describe/engagement.py; their segment profiles: describe/segment_inputs.py); rules: the seed
persona_rules.
"""

from segmentation.describe.persona_rules import parse_rules
from segmentation.describe.personas import persona_claims
from segmentation.describe.segment_inputs import optional_profiles
from segmentation.io.dbt_io import to_pandas


def model(dbt, session):
    profiles = to_pandas(dbt.ref("ml_segment_profiles"))
    rules = parse_rules(to_pandas(dbt.ref("persona_rules")))
    optional = optional_profiles(
        to_pandas(dbt.ref("ml_customer_assignments")),
        to_pandas(dbt.ref("fct_customer_engagement")),
        to_pandas(dbt.ref("int_customer_attributes_current")),
    )
    return persona_claims(profiles, rules, optional)

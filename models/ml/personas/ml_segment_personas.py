"""The persona of every segment: name, description, reason and recommended action.

Logic: python_jobs/src/segmentation/describe/personas.py (channel and attributes:
describe/engagement.py); rules: the seed persona_rules.
"""

from segmentation.describe.persona_rules import parse_rules
from segmentation.describe.personas import OptionalProfiles, segment_personas
from segmentation.io.dbt_io import to_pandas


def model(dbt, session):
    profiles = to_pandas(dbt.ref("ml_segment_profiles"))
    rules = parse_rules(to_pandas(dbt.ref("persona_rules")))
    optional = OptionalProfiles(
        engagement=to_pandas(dbt.ref("fct_segment_engagement_profiles")),
        attributes=to_pandas(dbt.ref("fct_segment_attribute_profiles")),
    )
    return segment_personas(profiles, rules, optional)

"""Channel choice and distinctive attributes of a segment (describe/engagement.py), and how
they enter personas: only where they distinguish the segment, never without the inputs."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from helpers import REPO_ROOT

from segmentation.describe.engagement import (
    CHANNEL_LIFT,
    EMAIL,
    ENGAGEMENT_FEATURES,
    NEITHER,
    SITE,
    distinctive_categories,
    segment_channel,
)
from segmentation.describe.persona_rules import read_rules
from segmentation.describe.personas import OptionalProfiles, persona_claims, segment_personas
from segmentation.io.contract import ENGAGEMENT_KINDS, OTHER_EVENT_KIND

SEED = REPO_ROOT / "seeds" / "persona_rules.csv"


def engagement_rows(
    lifts: dict[str, float], coverage: float = 0.9, segment_id: int = 1
) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"segment_id": segment_id, "feature_name": f, "lift": lift, "coverage": coverage}
            for f, lift in lifts.items()
        ]
    )


def test_email_when_email_lifts_stand_out_and_beat_the_site() -> None:
    channel = segment_channel(
        engagement_rows(
            {"email_click_rate": 2.4, "email_open_rate": 1.9, "sessions_per_month": 1.1}
        )
    )
    assert channel is not None and channel.name == EMAIL
    assert {e.feature_name for e in channel.evidence} == {"email_click_rate", "email_open_rate"}
    assert all(e.lift >= CHANNEL_LIFT for e in channel.evidence)


def test_site_when_visits_stand_out() -> None:
    channel = segment_channel(
        engagement_rows(
            {"email_click_rate": 0.5, "email_open_rate": 0.6, "sessions_per_month": 2.7}
        )
    )
    assert channel is not None and channel.name == SITE


def test_neither_when_everything_is_low_and_nothing_when_close_to_average() -> None:
    low = segment_channel(
        engagement_rows(
            {"email_click_rate": 0.2, "email_open_rate": 0.4, "sessions_per_month": 0.3}
        )
    )
    assert low is not None and low.name == NEITHER
    assert all(e.comparison == "<=" for e in low.evidence)
    assert (
        segment_channel(
            engagement_rows(
                {"email_click_rate": 1.1, "email_open_rate": 0.9, "sessions_per_month": 1.0}
            )
        )
        is None
    )


def test_a_poorly_covered_feature_does_not_speak_for_the_segment() -> None:
    rows = engagement_rows({"email_click_rate": 3.0, "sessions_per_month": 1.0}, coverage=0.1)
    assert segment_channel(rows) is None


def attribute_rows() -> pd.DataFrame:
    def row(attribute: str, category: str, share: float, lift: float, n: int = 50) -> dict:
        return {
            "segment_id": 1, "attribute_name": attribute, "attribute_category": category,
            "category_share": share, "lift": lift, "coverage": 0.5, "customers_with_attribute": n,
        }  # fmt: skip

    return pd.DataFrame(
        [
            row("age_band", "65+", 0.30, 2.4),
            row("age_band", "55-64", 0.25, 1.6),  # same attribute: only the larger lift is cited
            row("household", "couple", 0.60, 1.5),
            row("income_band", "high", 0.05, 3.0),  # too rare in the segment
            row("region", "north", 0.40, 2.0, n=5),  # too few customers with a value
            row("kids_count", "0", 0.50, 1.1),  # not distinctive
        ]
    )


def test_distinctive_categories_one_per_attribute_largest_lift_first() -> None:
    cited = distinctive_categories(attribute_rows())
    assert [e.feature_name for e in cited] == ["age_band=65+", "household=couple"]


@pytest.fixture(scope="module")
def rules():
    return read_rules(SEED)


def profiles() -> pd.DataFrame:
    """Two segments on the defining features: one high-value, one lapsed."""
    rows = []
    for segment_id, lift in ((1, 2.0), (2, 0.4)):
        for feature in ("monetary_amount", "frequency_orders", "recency_days", "avg_order_value"):
            value = lift if feature != "recency_days" else 1 / lift
            rows.append(
                {
                    "segment_id": segment_id,
                    "feature_name": feature,
                    "feature_role": "defining",
                    "segment_mean": 100 * value,
                    "segment_median": 100 * value,
                    "lift": value,
                    "z_score": (value - 1) * 2,
                    "segment_rank": segment_id,
                }  # fmt: skip
            )
    return pd.DataFrame(rows)


def test_personas_are_unchanged_without_the_optional_inputs(rules) -> None:
    plain = segment_personas(profiles(), rules)
    empty = OptionalProfiles(engagement=pd.DataFrame(), attributes=pd.DataFrame())
    pd.testing.assert_frame_equal(plain, segment_personas(profiles(), rules, empty))
    pd.testing.assert_frame_equal(
        persona_claims(profiles(), rules), persona_claims(profiles(), rules, empty)
    )


def test_personas_cite_channel_and_attributes_with_claims(rules) -> None:
    engagement = pd.concat(
        [
            engagement_rows({"email_click_rate": 2.0, "sessions_per_month": 1.0}, segment_id=1),
            engagement_rows({"email_click_rate": 1.0, "sessions_per_month": 1.05}, segment_id=2),
        ]
    )
    optional = OptionalProfiles(engagement=engagement, attributes=attribute_rows())
    personas = segment_personas(profiles(), rules, optional).set_index("segment_id")
    assert (
        "Channel: email (email clicks 2.0× the average)" in personas.loc[1, "persona_description"]
    )
    assert "Reach them by email" in personas.loc[1, "recommended_action"]
    assert "age band 65+ 30% (2.4× the average share)" in personas.loc[1, "persona_description"]
    # segment 2 is close to average on engagement and has no attribute rows: nothing added
    assert "Channel" not in personas.loc[2, "persona_description"]
    claims = persona_claims(profiles(), rules, optional)
    added = claims[claims["claim_source"].isin(["engagement", "attribute"])]
    assert sorted(added["feature_name"]) == ["age_band=65+", "email_click_rate", "household=couple"]
    assert (added["observed_value"] >= added["threshold"]).all()


def test_sql_macros_list_the_same_engagement_features_and_kinds() -> None:
    """The SQL profiles (macros/segment_profiles.sql) and the personas read the same features,
    and the SQL counts every kind the loader can write."""
    text = (REPO_ROOT / "macros" / "segment_profiles.sql").read_text()
    features = text.split("macro engagement_profile_features")[1].split("endmacro")[0]
    assert tuple(re.findall(r"'(\w+)',", features)) == ENGAGEMENT_FEATURES
    kinds = text.split("macro engagement_event_kinds")[1].split("endmacro")[0]
    assert tuple(re.findall(r"'(\w+)': '\w+'", kinds)) == (*ENGAGEMENT_KINDS, OTHER_EVENT_KIND)

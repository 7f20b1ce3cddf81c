"""The segment profiles of the optional inputs computed in the package (the dbt-level test
compares them with the SQL marts on the demo warehouse)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.describe.segment_inputs import (
    ATTRIBUTE_PROFILE_COLUMNS,
    ENGAGEMENT_PROFILE_COLUMNS,
    attribute_profiles,
    engagement_profiles,
    optional_profiles,
)

ASSIGNMENTS = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "segment_id": [0, 0, 1, 1]})


def test_engagement_means_are_over_customers_with_a_value() -> None:
    engagement = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "x"],
            "sessions_per_month": [2.0, None, 1.0, 100.0],
            "email_open_rate": [None, None, None, 1.0],
        }
    )
    profiles = engagement_profiles(ASSIGNMENTS, engagement)
    assert list(profiles.columns) == list(ENGAGEMENT_PROFILE_COLUMNS)
    # no segmented customer has an email open rate: no rows for it; "x" is not segmented
    assert set(profiles["feature_name"]) == {"sessions_per_month"}
    first = profiles.set_index("segment_id").loc[0]
    assert first["segment_customers"] == 2 and first["customers_with_value"] == 1
    assert first["coverage"] == 0.5 and first["population_coverage"] == pytest.approx(2 / 3)
    assert first["segment_mean"] == 2.0 and first["population_mean"] == 1.5
    assert first["lift"] == pytest.approx(2 / 1.5)
    assert first["feature_position"] == 2


def test_attribute_shares_lift_and_missing_categories() -> None:
    attributes = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "attribute_name": ["age_band"] * 3,
            "attribute_type": ["categorical"] * 3,
            "attribute_category": ["young", "young", "old"],
        }
    )
    profiles = attribute_profiles(ASSIGNMENTS, attributes)
    assert list(profiles.columns) == list(ATTRIBUTE_PROFILE_COLUMNS)
    cells = profiles.set_index(["segment_id", "attribute_category"])
    assert len(cells) == 4  # every segment gets every category
    young = cells.loc[(0, "young")]
    assert young["category_share"] == 1.0 and young["population_share"] == pytest.approx(2 / 3)
    assert young["lift"] == pytest.approx(1.5) and young["coverage"] == 1.0
    assert young["population_coverage"] == 0.75
    absent = cells.loc[(1, "young")]
    assert absent["category_customers"] == 0 and absent["category_share"] == 0.0
    assert absent["coverage"] == 0.5


def test_no_optional_inputs_give_typed_empty_profiles() -> None:
    engagement = pd.DataFrame({"customer_id": pd.Series([], dtype=object)})
    attributes = pd.DataFrame(
        {
            column: pd.Series([], dtype=object)
            for column in ("customer_id", "attribute_name", "attribute_type", "attribute_category")
        }
    )
    optional = optional_profiles(ASSIGNMENTS, engagement, attributes)
    assert optional.engagement is not None and optional.engagement.empty
    assert optional.attributes is not None and optional.attributes.empty
    assert optional.engagement["lift"].dtype == np.float64

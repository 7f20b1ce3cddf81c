"""Feature roles (segmentation.describe.roles): defining or describing, and why."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from segmentation.config.segmentation import DEFAULTS, SegmentationSettings
from segmentation.describe.roles import (
    ROLE_REASONS,
    default_role,
    feature_roles,
    kept_model_roles,
)


def test_the_default_roles_are_the_default_model_inputs() -> None:
    defining = [name for name in ROLE_REASONS if default_role(name) == "defining"]
    assert defining == DEFAULTS["features"]
    # the shares and unit-based features that broke real logs only describe
    for name in ("evening_order_share", "cancellation_rate", "avg_items_per_order"):
        assert default_role(name) == "describing"


def test_the_table_records_role_reason_and_the_facts_behind_them() -> None:
    rng = np.random.default_rng(1)
    features = pd.DataFrame(
        {
            "customer_id": [str(i) for i in range(100)],
            "monetary_amount": rng.uniform(1, 100, 100),
            "evening_order_share": np.where(np.arange(100) < 80, 0.0, 0.5),
            "mean_days_between_orders": np.where(np.arange(100) < 30, np.nan, 20.0),
        }
    )
    roles = feature_roles(features, ["monetary_amount", "evening_order_share"], ["monetary_amount"])
    by_name = roles.set_index("feature_name")
    assert by_name.loc["evening_order_share", "zero_share"] == 0.8
    assert by_name.loc["mean_days_between_orders", "missing_share"] == 0.3
    assert by_name.loc["monetary_amount", "is_model_input"]
    assert not by_name.loc["evening_order_share", "is_model_input"]
    # the var made a describing feature define: the reason says so and keeps the default's
    changed = by_name.loc["evening_order_share", "role_reason"]
    assert changed.startswith("defines: set by the var segmentation.features (default: describes")
    assert by_name.loc["mean_days_between_orders", "feature_role"] == "describing"


def test_the_kept_model_gives_its_own_settings_and_inputs() -> None:
    settings = SegmentationSettings.from_mapping({"features": ["recency_days", "monetary_amount"]})
    model = pd.DataFrame(
        [
            {
                "model_version_id": "v1",
                "settings_json": settings.to_json(),
                "features_used": json.dumps(["monetary_amount"]),
            }
        ]
    )
    assert kept_model_roles(model) == (
        ("recency_days", "monetary_amount"),
        ("monetary_amount",),
        "v1",
    )
    assert kept_model_roles(model.iloc[:0]) == ((), (), None)


def test_optional_inputs_add_describing_rows_with_their_coverage() -> None:
    features = pd.DataFrame({"customer_id": ["1", "2"], "monetary_amount": [1.0, 2.0]})
    engagement = pd.DataFrame(
        {
            "segment_id": [1, 2],
            "feature_name": ["email_open_rate", "email_open_rate"],
            "population_coverage": [0.6, 0.6],
        }
    )
    attributes = pd.DataFrame(
        {
            "segment_id": [1, 1],
            "attribute_name": ["age_band", "age_band"],
            "population_coverage": [0.3, 0.3],
        }
    )
    plain = feature_roles(features, ["monetary_amount"], ["monetary_amount"])
    empty = feature_roles(
        features,
        ["monetary_amount"],
        ["monetary_amount"],
        optional=(pd.DataFrame(), pd.DataFrame()),
    )
    pd.testing.assert_frame_equal(plain, empty)
    roles = feature_roles(
        features, ["monetary_amount"], ["monetary_amount"], optional=(engagement, attributes)
    ).set_index("feature_name")
    assert list(roles.index) == ["monetary_amount", "email_open_rate", "age_band"]
    assert (roles.loc[["email_open_rate", "age_band"], "feature_role"] == "describing").all()
    assert roles.loc["email_open_rate", "missing_share"] == pytest.approx(0.4)
    assert "engagement_feature_role: define" in roles.loc["email_open_rate", "role_reason"]
    assert not roles.loc["age_band", "is_model_input"]


def test_an_attribute_of_categorical_attributes_defines_and_others_describe() -> None:
    settings = SegmentationSettings.from_mapping({"categorical_attributes": {"household": 1.0}})
    used = [*DEFAULTS["features"], "attribute_household__single", "attribute_household__couple"]
    model = pd.DataFrame(
        [
            {
                "model_version_id": "v2",
                "settings_json": settings.to_json(),
                "features_used": json.dumps(used),
            }
        ]
    )
    defining, inputs, version = kept_model_roles(model)
    assert defining[-1] == "household" and version == "v2"
    features = pd.DataFrame({"customer_id": ["1", "2"], "monetary_amount": [1.0, 2.0]})
    attributes = pd.DataFrame(
        {
            "segment_id": [1, 1],
            "attribute_name": ["household", "age_band"],
            "population_coverage": [0.4, 0.3],
        }
    )
    roles = feature_roles(
        features, defining, inputs, version, optional=(pd.DataFrame(), attributes)
    ).set_index("feature_name")
    assert roles.loc["household", "feature_role"] == "defining"
    assert roles.loc["household", "is_model_input"]
    assert "categorical_attributes" in roles.loc["household", "role_reason"]
    assert roles.loc["age_band", "feature_role"] == "describing"
    assert "categorical_attributes" in roles.loc["age_band", "role_reason"]
    # named in the settings but no category left as an input (e.g. not loaded): not an input
    unused = feature_roles(
        features, defining, DEFAULTS["features"], version, optional=(pd.DataFrame(), attributes)
    ).set_index("feature_name")
    assert not unused.loc["household", "is_model_input"]

"""Segment profiles (segmentation.describe.profiles) on small hand-made customer tables."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmentation.describe.profiles import (
    PROFILE_FEATURE_NAMES,
    ProfileInputError,
    segment_feature_profiles,
)
from segmentation.io.tables import SCHEMAS

REPO_ROOT = Path(__file__).resolve().parents[2]


def customers() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six customers in two segments with easy numbers."""
    features = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "monetary_amount": [10.0, 30.0, 20.0, 100.0, 140.0, 120.0],
            "frequency_orders": [1, 1, 1, 4, 6, 5],
            # one-order customers have no gap between orders
            "mean_days_between_orders": [None, None, None, 30.0, 10.0, 20.0],
            "cancellation_rate": [0.0] * 6,  # zero mean: no lift
            "country_count": [1] * 6,  # no variation: no z-score
            "primary_country": ["UK"] * 6,  # not a profile feature
        }
    )
    assignments = pd.DataFrame(
        {"customer_id": ["f", "e", "d", "c", "b", "a"], "segment_id": [1, 1, 1, 2, 2, 2]}
    )
    return features, assignments


def row(profile: pd.DataFrame, segment: int, feature: str) -> pd.Series:
    found = profile[(profile.segment_id == segment) & (profile.feature_name == feature)]
    assert len(found) == 1
    return found.iloc[0]


def test_statistics_match_a_hand_computation() -> None:
    features, assignments = customers()
    profile = segment_feature_profiles(features, assignments)
    assert list(profile.columns) == list(SCHEMAS["ml_segment_profiles"])
    # population: 10, 30, 20, 100, 140, 120 -> mean 70
    money = [10.0, 30.0, 20.0, 100.0, 140.0, 120.0]
    std = float(np.std(money))
    high, low = row(profile, 1, "monetary_amount"), row(profile, 2, "monetary_amount")
    assert high.segment_mean == pytest.approx(120.0)
    assert high.segment_median == pytest.approx(120.0)
    assert low.segment_mean == pytest.approx(20.0)
    assert high.population_mean == pytest.approx(70.0)
    assert high.population_median == pytest.approx(65.0)
    assert high.lift == pytest.approx(120.0 / 70.0)
    assert low.lift == pytest.approx(20.0 / 70.0)
    assert high.z_score == pytest.approx(50.0 / std)
    assert low.z_score == pytest.approx(-50.0 / std)
    assert (high.segment_rank, low.segment_rank) == (1, 2)
    assert high.feature_label == "net revenue" and high.feature_unit == "currency"


def test_nulls_are_left_out_and_degenerate_features_have_no_comparison() -> None:
    features, assignments = customers()
    profile = segment_feature_profiles(features, assignments)
    gaps_repeat, gaps_single = (
        row(profile, 1, "mean_days_between_orders"),
        row(profile, 2, "mean_days_between_orders"),
    )
    assert gaps_repeat.customer_count == 3 and gaps_repeat.segment_mean == pytest.approx(20.0)
    assert gaps_single.customer_count == 0 and math.isnan(gaps_single.segment_mean)
    assert pd.isna(gaps_single.segment_rank)
    cancelled = row(profile, 1, "cancellation_rate")
    assert pd.isna(cancelled.lift) and pd.isna(cancelled.z_score)
    countries = row(profile, 1, "country_count")
    assert countries.lift == pytest.approx(1.0) and pd.isna(countries.z_score)
    # features without a z-score are never ranked as distinctive
    assert pd.isna(countries.distinctiveness_rank)


def test_features_absent_from_the_table_are_skipped_and_order_follows_the_list() -> None:
    features, assignments = customers()
    profile = segment_feature_profiles(features, assignments)
    names = list(profile[profile.segment_id == 1].feature_name)
    expected = [name for name in PROFILE_FEATURE_NAMES if name in features.columns]
    assert names == expected
    assert "primary_country" not in names


def test_distinctiveness_ranks_follow_absolute_z_scores() -> None:
    features, assignments = customers()
    profile = segment_feature_profiles(features, assignments)
    for _, rows in profile.groupby("segment_id"):
        ranked = rows.dropna(subset=["distinctiveness_rank"]).sort_values("distinctiveness_rank")
        assert list(ranked.distinctiveness_rank) == list(range(1, len(ranked) + 1))
        magnitudes = ranked.z_score.abs().to_numpy()
        assert np.all(np.diff(magnitudes) <= 1e-12)


def test_result_does_not_depend_on_row_order() -> None:
    features, assignments = customers()
    first = segment_feature_profiles(features, assignments)
    shuffled = segment_feature_profiles(
        features.sample(frac=1.0, random_state=3), assignments.sample(frac=1.0, random_state=4)
    )
    pd.testing.assert_frame_equal(first, shuffled)


def test_only_customers_in_both_tables_count() -> None:
    features, assignments = customers()
    extra = pd.concat(
        [features, pd.DataFrame({"customer_id": ["zz"], "monetary_amount": [1e6]})],
        ignore_index=True,
    )
    profile = segment_feature_profiles(extra, assignments)
    assert row(profile, 1, "monetary_amount").population_mean == pytest.approx(70.0)


def test_empty_input_gives_a_typed_empty_table() -> None:
    features, assignments = customers()
    profile = segment_feature_profiles(features.iloc[:0], assignments.iloc[:0])
    assert profile.empty and list(profile.columns) == list(SCHEMAS["ml_segment_profiles"])
    assert str(profile["segment_mean"].dtype) == "float64"
    assert str(profile["feature_name"].dtype) == "string"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda f, a: (f, a.rename(columns={"segment_id": "cluster"})), "has no column segment_id"),
        (lambda f, a: (f.drop(columns="customer_id"), a), "fct_customer_features has no column"),
        (lambda f, a: (f, pd.concat([a, a.iloc[:1]])), "several rows for customer_id ['f']"),
        (lambda f, a: (f, a.assign(segment_id=[1, None, 1, 2, 2, 2])), "segment_id is NULL"),
        (
            lambda f, a: (f.assign(monetary_amount=["x"] * 6), a),
            "monetary_amount must be numeric",
        ),
        (
            lambda f, a: (f.assign(monetary_amount=[1.0, np.inf, 1, 1, 1, 1]), a),
            "monetary_amount is infinite for customer_id ['b']",
        ),
    ],
)
def test_bad_input_names_table_and_column(change, needle: str) -> None:
    features, assignments = change(*customers())
    with pytest.raises(ProfileInputError) as error:
        segment_feature_profiles(features, assignments)
    assert needle in str(error.value)


def test_sql_macro_lists_the_same_features() -> None:
    """dim_segments pivots the profile with macros/segment_profiles.sql: same list, same order."""
    text = (REPO_ROOT / "macros" / "segment_profiles.sql").read_text()
    assert tuple(re.findall(r"'feature': '(\w+)'", text)) == PROFILE_FEATURE_NAMES

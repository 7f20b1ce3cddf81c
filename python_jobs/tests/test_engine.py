"""End-to-end tests of the clustering engine on synthetic customer features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from segmentation.engine import (
    SegmentationInputError,
    clear_cache,
    customer_assignments,
    model_candidates,
    run_segmentation,
    transform_params,
)
from segmentation.settings import SegmentationSettings
from segmentation.synthetic import synthetic_customer_features

FAST = {
    "algorithms": ["kmeans", "agglomerative"],
    "kmeans": {"k_min": 2, "k_max": 6, "n_init": 3},
    "agglomerative": {"k_min": 2, "k_max": 5, "linkages": ["ward"], "fit_sample_size": 400},
    "selection": {"silhouette_sample_size": 500},
}


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, np.ndarray]:
    return synthetic_customer_features(1500, n_groups=4, random_state=7)


@pytest.fixture(scope="module")
def result(planted):
    return run_segmentation(planted[0], SegmentationSettings.from_mapping(FAST))


def test_every_customer_is_assigned_exactly_once(planted, result) -> None:
    features, _ = planted
    assignments = result.assignments
    assert sorted(assignments["customer_id"]) == sorted(features["customer_id"])
    assert assignments["customer_id"].is_unique
    assert assignments["segment_id"].min() == 1
    n_segments = int(result.model["n_segments"].iloc[0])
    assert set(assignments["segment_id"]) == set(range(1, n_segments + 1))


def test_winner_recovers_planted_groups(planted, result) -> None:
    features, groups = planted
    truth = pd.Series(groups, index=features["customer_id"])
    merged = result.assignments.set_index("customer_id")["segment_id"]
    assert adjusted_rand_score(truth.loc[merged.index], merged) >= 0.95
    assert int(result.candidates["is_winner"].sum()) == 1


def test_segment_ids_follow_median_revenue(planted, result) -> None:
    features, _ = planted
    merged = result.assignments.merge(features[["customer_id", "monetary_amount"]])
    medians = merged.groupby("segment_id")["monetary_amount"].median().sort_index()
    assert medians.is_monotonic_decreasing


def test_row_order_and_cache_do_not_change_assignments(planted, result) -> None:
    features, _ = planted
    settings = SegmentationSettings.from_mapping(FAST)
    clear_cache()
    shuffled = features.sample(frac=1.0, random_state=3)
    params = transform_params(shuffled, settings)
    candidates = model_candidates(shuffled, params, settings)
    again = customer_assignments(shuffled, params, candidates, settings)
    pd.testing.assert_frame_equal(
        again.sort_values("customer_id").reset_index(drop=True),
        result.assignments.sort_values("customer_id").reset_index(drop=True),
    )


def test_empty_input_gives_empty_tables_with_columns(planted) -> None:
    empty = planted[0].iloc[0:0]
    tables = run_segmentation(empty, SegmentationSettings.from_mapping(FAST))
    assert tables.assignments.empty and "segment_id" in tables.assignments.columns
    assert tables.candidates.empty and "is_winner" in tables.candidates.columns
    assert tables.params.empty and tables.model.empty


def test_single_customer_is_a_clear_error(planted) -> None:
    with pytest.raises(SegmentationInputError, match="1 customer"):
        run_segmentation(planted[0].iloc[:1], SegmentationSettings.from_mapping(FAST))

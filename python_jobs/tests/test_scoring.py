"""Scoring with a kept model from its tables, and matching segments across versions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.benchmark.synthetic import synthetic_customer_features
from segmentation.config.segmentation import SegmentationSettings
from segmentation.engine.fit import run_segmentation
from segmentation.engine.prepare import FeaturePreparer
from segmentation.engine.scoring import (
    ScoringError,
    jaccard_matrix,
    map_points,
    match_segments,
    nearest,
    prepared_matrix,
    score,
)

SETTINGS = SegmentationSettings.from_mapping(
    {"algorithms": ["kmeans"], "kmeans": {"k_min": 3, "k_max": 4, "n_init": 2}}
)


@pytest.fixture(scope="module")
def fitted():
    features, _ = synthetic_customer_features(600, n_groups=4, random_state=5)
    return features, run_segmentation(features, SETTINGS)


def test_prepared_matrix_equals_the_fitted_preparation(fitted) -> None:
    features, result = fitted
    matrix, names = prepared_matrix(features, result.params)
    preparer = FeaturePreparer.from_params(result.params, SETTINGS.preparation)
    assert names == list(preparer.used_features_)
    assert np.allclose(matrix, preparer.transform(features), rtol=0, atol=1e-12)


def test_kmeans_kept_model_scores_every_customer_to_its_fitted_segment(fitted) -> None:
    features, result = fitted
    scores = score(features, result.params, result.representatives)
    expected = result.assignments.set_index("customer_id")["segment_id"]
    got = pd.Series(scores.segment_ids, index=scores.customer_ids)
    assert (got.loc[expected.index] == expected).all()
    distances = result.assignments.set_index("customer_id")["distance_to_representative"]
    assert np.allclose(
        pd.Series(scores.distances, index=scores.customer_ids)[distances.index], distances
    )


def test_scoring_does_not_depend_on_row_order(fitted) -> None:
    features, result = fitted
    shuffled = features.sample(frac=1.0, random_state=3)
    a = score(features, result.params, result.representatives)
    b = score(shuffled, result.params, result.representatives)
    assert dict(zip(a.customer_ids, a.segment_ids, strict=True)) == dict(
        zip(b.customer_ids, b.segment_ids, strict=True)
    )


def test_missing_column_and_unfillable_null_name_the_column(fitted) -> None:
    features, result = fitted
    with pytest.raises(ScoringError, match="monetary_amount"):
        score(features.drop(columns="monetary_amount"), result.params, result.representatives)
    broken = features.copy()
    broken.loc[broken.index[:2], "frequency_orders"] = np.nan
    with pytest.raises(ScoringError, match="frequency_orders.*customer_id"):
        score(broken, result.params, result.representatives)


def test_ties_go_to_the_first_centre() -> None:
    index, distance = nearest(np.array([[0.0], [2.0]]), np.array([[1.0], [3.0], [1.0]]))
    assert index.tolist() == [0, 0] and distance.tolist() == [1.0, 1.0]


def test_centroids_mapped_through_their_own_transform_come_back(fitted) -> None:
    _, result = fitted
    reps = result.representatives
    original = reps.pivot_table(index="segment_id", columns="feature_name", values="value_original")
    mapped, names = map_points(original, result.params)
    scaled = reps.pivot_table(index="segment_id", columns="feature_name", values="value_scaled")
    assert np.allclose(mapped, scaled[names].to_numpy(), atol=1e-9)


def test_matching_keeps_ids_of_the_same_groups_and_reports_new_and_retired() -> None:
    old = np.array([1, 1, 2, 2, 3, 3, 3])
    new = np.array([5, 5, 6, 6, 7, 7, 8])  # 1->5, 2->6, 3 mostly ->7, 8 is new
    old_ids, new_ids = np.array([1, 2, 3]), np.array([5, 6, 7, 8])
    overlap = jaccard_matrix(old, new, old_ids, new_ids)
    assert overlap[0, 0] == 1.0 and overlap[2, 2] == pytest.approx(2 / 3)
    distance = 1.0 - overlap  # near where they share customers
    match = match_segments(distance, overlap, old_ids, new_ids, 0.5, next_id=10)
    assert match.new_to_stable == {5: 1, 6: 2, 7: 3, 8: 10}
    statuses = {row["segment_id"]: row["status"] for row in match.rows}
    assert statuses == {1: "kept", 2: "kept", 3: "kept", 10: "new"}
    # a group split in halves: neither half keeps the id, the old one is retired
    split = match_segments(
        np.array([[0.1, 0.1]]), np.array([[0.45, 0.45]]), np.array([4]), np.array([1, 2]), 0.5, 9
    )
    assert split.new_to_stable == {1: 9, 2: 10}
    assert {row["status"] for row in split.rows} == {"new", "retired"}


def test_matching_pairs_by_distance_not_by_label_order() -> None:
    old_ids, new_ids = np.array([1, 2, 3]), np.array([1, 2, 3])
    permutation = [2, 0, 1]  # new segment j is old segment permutation[j]
    distance = np.ones((3, 3))
    overlap = np.zeros((3, 3))
    for j, i in enumerate(permutation):
        distance[i, j], overlap[i, j] = 0.0, 0.9
    match = match_segments(distance, overlap, old_ids, new_ids, 0.5, next_id=4)
    assert match.new_to_stable == {1: 3, 2: 1, 3: 2}

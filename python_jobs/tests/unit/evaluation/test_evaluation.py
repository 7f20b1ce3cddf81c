"""The evaluation methods on small synthetic data: clusterboot, prediction strength, seeds,
per-customer fit and external validation."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_samples, silhouette_score

from segmentation.engine import algorithms
from segmentation.engine.algorithms import CandidateSpec, fit_candidate, seeded_sample
from segmentation.evaluation.metrics import (
    BootstrapStability,
    EvaluationError,
    PredictionStrength,
    SeedAgreement,
    best_jaccard,
    customer_fit,
    external_agreement,
    pair_agreement,
    partition_labels,
    reference_silhouette,
    stability_class,
    with_clusters,
)


def kmeans(k: int, n_init: int = 3) -> CandidateSpec:
    return CandidateSpec("kmeans", (("n_clusters", k), ("n_init", n_init)))


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated groups of 100, 100 and 60 customers."""
    matrix, truth = make_blobs(
        n_samples=[100, 100, 60],
        centers=[[0, 0, 0], [8, 0, 0], [0, 8, 0]],
        cluster_std=1.0,
        random_state=3,
    )
    return matrix, truth


def test_best_jaccard_by_hand() -> None:
    # reference cluster 0 = {0,1,2}, 1 = {3,4}; found clusters 5 = {0,1}, 7 = {2,3,4}
    best = best_jaccard(np.array([0, 0, 0, 1, 1]), np.array([5, 5, 7, 7, 7]), 3)
    # 0: |{0,1}| / |{0,1,2}| = 2/3 (vs 7: 1/5); 1: 2/3 with cluster 7; 2: absent
    assert best[0] == pytest.approx(2 / 3) and best[1] == pytest.approx(2 / 3)
    assert np.isnan(best[2])
    # renaming the found clusters changes nothing
    again = best_jaccard(np.array([0, 0, 0, 1, 1]), np.array([1, 1, 0, 0, 0]), 3)
    np.testing.assert_allclose(again[:2], best[:2])


def test_stability_classes_follow_hennig() -> None:
    assert stability_class(0.9) == "highly stable"
    assert stability_class(0.8) == "stable"
    assert stability_class(0.7) == "pattern"
    assert stability_class(0.55) == "unstable"
    assert stability_class(0.5) == "dissolved"
    assert stability_class(None) is None and stability_class(float("nan")) is None


def test_real_groups_are_stable_and_a_split_group_is_not(blobs) -> None:
    matrix, _ = blobs
    true_k = fit_candidate(kmeans(3), matrix, 0)
    stable = BootstrapStability(kmeans(3), n_resamples=8, random_state=1)
    stable.fit(matrix, true_k.labels)
    assert stable.jaccard_.shape == (8, 3)
    assert stable.mean_stability_ > 0.95 and stable.dissolved_counts_.sum() == 0
    assert list(stable.clusters_found_) == [3] * 8 and stable.failed_resamples_ == 0
    # Asking for 4 segments splits one group arbitrarily: the halves are not reproducible.
    too_many = fit_candidate(kmeans(4), matrix, 0)
    split = BootstrapStability(kmeans(4), n_resamples=8, random_state=1)
    split.fit(matrix, too_many.labels)
    assert split.segment_stability_.min() < 0.85
    assert split.segment_stability_.max() > 0.95  # the groups left whole stay stable
    assert split.mean_stability_ < stable.mean_stability_


def test_bootstrap_is_deterministic_for_a_seed(blobs) -> None:
    matrix, truth = blobs
    first = BootstrapStability(kmeans(4), n_resamples=4, random_state=5).fit(matrix, truth)
    second = BootstrapStability(kmeans(4), n_resamples=4, random_state=5).fit(matrix, truth)
    np.testing.assert_array_equal(first.jaccard_, second.jaccard_)


def test_bootstrap_refits_side_by_side_give_the_one_by_one_figures(blobs, monkeypatch) -> None:
    matrix, truth = blobs
    monkeypatch.setattr(algorithms, "FIT_WORKERS", 1)
    alone = BootstrapStability(kmeans(4), n_resamples=7, random_state=5).fit(matrix, truth)
    monkeypatch.setattr(algorithms, "FIT_WORKERS", 2)
    side_by_side = BootstrapStability(kmeans(4), n_resamples=7, random_state=5).fit(matrix, truth)
    # each resample keeps its place: the rows of jaccard_ are the resamples in drawing order
    np.testing.assert_array_equal(side_by_side.jaccard_, alone.jaccard_)
    np.testing.assert_array_equal(side_by_side.clusters_found_, alone.clusters_found_)
    assert len({row.tobytes() for row in alone.jaccard_}) > 1  # the resamples differ


def test_a_failing_refit_counts_as_dissolved() -> None:
    matrix = np.random.default_rng(0).normal(size=(60, 2))
    # DBSCAN with a tiny radius calls every customer noise: no partition on any resample.
    spec = CandidateSpec("dbscan", (("eps", 1e-9), ("min_samples", 5)))
    result = BootstrapStability(spec, n_resamples=3, random_state=0).fit(
        matrix, (matrix[:, 0] > 0).astype(int)
    )
    assert result.failed_resamples_ == 3
    assert np.all(result.jaccard_ == 0.0) and result.mean_stability_ == 0.0


def test_pair_agreement_by_hand() -> None:
    # test cluster 0 = rows 0-2 predicted (a, a, b): 2 of 6 ordered pairs together; cluster 1
    # = rows 3-4 predicted (c, c): 2 of 2; the strength is the worst cluster's share
    assert pair_agreement(np.array([0, 0, 0, 1, 1]), np.array([4, 4, 9, 6, 6])) == pytest.approx(
        1 / 3
    )
    # singletons have no pairs and are left out
    assert pair_agreement(np.array([0, 0, 1]), np.array([2, 2, 3])) == 1.0


def test_prediction_strength_supports_the_true_number_of_groups(blobs) -> None:
    matrix, _ = blobs
    result = PredictionStrength(
        partial(with_clusters, kmeans(2)), ks=[2, 3, 4, 6], n_splits=3, random_state=2
    ).fit(matrix)
    strength = dict(zip(result.ks, result.mean_, strict=True))
    # k = 2 merges two groups, which both halves do alike; k = 3 is right; splitting a compact
    # group (k = 4, 6) does not generalise from one half to the other
    assert strength[2] > 0.95 and strength[3] > 0.95
    assert strength[4] < 0.8 and strength[6] < 0.8
    assert result.supported_k_ == 3
    assert result.strength_.shape == (3, 4)


def test_prediction_strength_works_for_sampled_algorithms(blobs) -> None:
    matrix, _ = blobs
    spec = CandidateSpec("agglomerative", (("linkage", "ward"), ("n_clusters", 3)), 100)
    result = PredictionStrength(partial(with_clusters, spec), ks=[3], n_splits=2).fit(matrix)
    assert result.mean_[0] > 0.95
    # the training half is the engine's own seeded sample of the training fit
    train = seeded_sample(matrix.shape[0], matrix.shape[0] // 2, 7)
    fitted = fit_candidate(replace(with_clusters(spec, 3), fit_sample_size=train.size), matrix, 7)
    np.testing.assert_array_equal(fitted.fit_index, train)


def test_k_too_large_for_a_half_is_left_empty() -> None:
    matrix = np.random.default_rng(1).normal(size=(9, 2))
    result = PredictionStrength(partial(with_clusters, kmeans(2)), ks=[2, 5], n_splits=2).fit(
        matrix
    )
    assert np.isfinite(result.mean_[0]) and np.isnan(result.mean_[1])


def test_with_clusters_needs_a_k() -> None:
    with pytest.raises(EvaluationError, match="does not take a number of clusters"):
        with_clusters(CandidateSpec("hdbscan", (("min_cluster_size", 5),)), 3)


def test_seeds_agree_on_clear_groups_and_not_on_noise(blobs) -> None:
    matrix, truth = blobs
    clear = SeedAgreement(kmeans(3, n_init=1), seeds=[1, 2, 3]).fit(matrix, truth)
    assert clear.mean_pairwise_ari_ == pytest.approx(1.0)
    assert np.allclose(clear.ari_vs_reference_, 1.0)
    assert list(clear.n_clusters_) == [3, 3, 3] and np.all(clear.noise_shares_ == 0)
    uniform = np.random.default_rng(4).uniform(size=(300, 2))
    arbitrary = SeedAgreement(kmeans(8, n_init=1), seeds=[1, 2, 3, 4]).fit(
        uniform, np.zeros(300, dtype=int)
    )
    assert arbitrary.min_pairwise_ari_ < 0.95
    assert arbitrary.pairwise_ari_.shape == (4, 4)


def test_nearest_representative_rule_labels_by_distance(blobs) -> None:
    matrix, _ = blobs
    spec = CandidateSpec(
        "gaussian_mixture",
        (("covariance_type", "full"), ("n_clusters", 3), ("n_init", 1), ("reg_covar", 1e-6)),
    )
    partition = fit_candidate(spec, matrix, 0)
    labels = partition_labels(partition, matrix, "nearest_representative")
    distances = np.linalg.norm(matrix[:, None, :] - partition.representatives[None], axis=2)
    np.testing.assert_array_equal(labels, distances.argmin(axis=1))
    np.testing.assert_array_equal(partition_labels(partition, matrix), partition.labels)
    with pytest.raises(EvaluationError, match="unknown assignment rule"):
        partition_labels(partition, matrix, "by_hand")


def test_silhouette_is_exact_when_the_reference_holds_everyone(blobs) -> None:
    matrix, truth = blobs
    labels = truth.copy()
    labels[0] = 3  # a segment of one customer: silhouette 0 by convention
    values = reference_silhouette(matrix, labels, np.arange(len(labels)))
    np.testing.assert_allclose(values, silhouette_samples(matrix, labels), atol=1e-9)
    assert values[0] == 0.0


def test_sampled_silhouette_matches_the_selection_and_estimates_the_rest(blobs) -> None:
    matrix, truth = blobs
    reference = seeded_sample(len(truth), 120, 42)
    values = reference_silhouette(matrix, truth, reference)
    # inside the sample: the silhouette of the sample, as the selection computes it
    assert values[reference].mean() == pytest.approx(
        silhouette_score(matrix[reference], truth[reference])
    )
    # outside: an estimate close to the exact value
    outside = np.setdiff1d(np.arange(len(truth)), reference)
    exact = silhouette_samples(matrix, truth)
    assert np.abs(values[outside] - exact[outside]).mean() < 0.02


def test_customer_fit_distances_and_margin(blobs) -> None:
    matrix, _ = blobs
    partition = fit_candidate(kmeans(3), matrix, 0)
    fit = customer_fit(matrix, partition.labels, partition.representatives, np.arange(50))
    rows = np.arange(len(matrix))
    distances = np.linalg.norm(matrix[:, None, :] - partition.representatives[None], axis=2)
    np.testing.assert_allclose(fit.distance, distances[rows, partition.labels])
    assert np.all(fit.second_label != partition.labels)
    np.testing.assert_allclose(fit.second_distance, np.sort(distances, axis=1)[:, 1])
    # K-Means assigns the nearest centroid, so every margin is >= 0, and close to 1 here
    assert np.all((fit.margin >= 0) & (fit.margin <= 1)) and np.median(fit.margin) > 0.6
    assert fit.in_reference.sum() == 50


def test_customer_fit_margin_is_negative_when_another_representative_is_nearer() -> None:
    matrix = np.array([[0.0], [1.0], [4.0]])
    representatives = np.array([[0.0], [5.0]])
    fit = customer_fit(matrix, np.array([0, 1, 1]), representatives, np.arange(3))
    # row 1 sits at distance 4 from its own representative and 1 from the other
    assert fit.margin[1] == pytest.approx((1 - 4) / 4)
    assert fit.margin[0] == pytest.approx(1.0)


def test_external_agreement() -> None:
    perfect = external_agreement([1, 1, 2, 2], ["a", "a", "b", "b"])
    assert perfect.is_available and perfect.adjusted_rand_index == pytest.approx(1.0)
    assert perfect.normalized_mutual_info == pytest.approx(1.0)
    assert perfect.n_customers == 4 and perfect.n_classes == 2
    unrelated = external_agreement([1, 2, 1, 2], ["a", "a", "b", "b"])
    assert unrelated.adjusted_rand_index < 0.1
    none = external_agreement([], [])
    assert not none.is_available and none.adjusted_rand_index is None
    with pytest.raises(EvaluationError, match="3 labels but 2 truth values"):
        external_agreement([1, 2, 3], ["a", "b"])

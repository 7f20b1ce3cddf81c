"""Candidate algorithms: recovery of known clusters, sampling, DBSCAN's eps, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import AgglomerativeClustering
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from segmentation.config.segmentation import SegmentationSettings
from segmentation.engine import algorithms
from segmentation.engine.algorithms import (
    NOISE,
    CandidateSpec,
    candidate_grid,
    fit_candidate,
    kdistance_eps,
    map_fits,
    nearest_representative,
    seeded_sample,
)

SPECS = [
    CandidateSpec("kmeans", (("n_clusters", 4), ("n_init", 4))),
    CandidateSpec("kmeans", (("n_clusters", 4), ("n_init", 4)), fit_sample_size=500),
    CandidateSpec(
        "gaussian_mixture",
        (("covariance_type", "full"), ("n_clusters", 4), ("n_init", 1), ("reg_covar", 1e-6)),
        fit_sample_size=1000,
    ),
    CandidateSpec("agglomerative", (("linkage", "ward"), ("n_clusters", 4)), fit_sample_size=600),
    CandidateSpec("agglomerative", (("linkage", "average"), ("n_clusters", 4)), 600),
    CandidateSpec("agglomerative", (("linkage", "complete"), ("n_clusters", 4)), 600),
    CandidateSpec("dbscan", (("eps", "auto"), ("min_samples", 10)), fit_sample_size=600),
    CandidateSpec("hdbscan", (("min_cluster_size", 40), ("min_samples", None)), 600),
]


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    return make_blobs(n_samples=2000, centers=4, n_features=5, cluster_std=0.6, random_state=3)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.candidate_id)
def test_every_algorithm_recovers_well_separated_blobs(blobs, spec) -> None:
    matrix, truth = blobs
    partition = fit_candidate(spec, matrix, random_state=0)
    assert partition.status == "ok", partition.message
    assert partition.labels.shape == truth.shape
    clustered = partition.labels != NOISE
    assert clustered.mean() > 0.95
    assert adjusted_rand_score(truth[clustered], partition.labels[clustered]) >= 0.95
    assert partition.representatives.shape == (4, matrix.shape[1])


def test_sampled_methods_fit_on_the_sample_and_assign_the_rest(blobs) -> None:
    matrix, _ = blobs
    partition = fit_candidate(SPECS[3], matrix, random_state=0)
    assert partition.fit_index.size == 600 and not partition.fitted_on_all_rows
    outside = np.setdiff1d(np.arange(matrix.shape[0]), partition.fit_index)
    nearest, _ = nearest_representative(matrix[outside], partition.representatives)
    np.testing.assert_array_equal(partition.labels[outside], nearest)


def test_seeded_sample_is_sorted_reproducible_and_seed_dependent() -> None:
    one = seeded_sample(10_000, 300, 5)
    assert np.array_equal(one, seeded_sample(10_000, 300, 5))
    assert not np.array_equal(one, seeded_sample(10_000, 300, 6))
    assert np.all(np.diff(one) > 0)
    assert np.array_equal(seeded_sample(50, 300, 5), np.arange(50))


def test_kdistance_eps_lies_between_within_and_between_cluster_distances() -> None:
    matrix, labels, centres = make_blobs(
        n_samples=2000,
        centers=4,
        n_features=5,
        cluster_std=0.6,
        random_state=3,
        return_centers=True,
    )
    eps = kdistance_eps(matrix, min_samples=10)
    gaps = [np.linalg.norm(a - b) for i, a in enumerate(centres) for b in centres[i + 1 :]]
    typical_neighbour = np.median(
        [np.sort(np.linalg.norm(matrix[:200] - point, axis=1))[1] for point in matrix[:200]]
    )
    assert typical_neighbour < eps < min(gaps) / 2
    assert labels.size == 2000


def test_dbscan_labelling_everything_as_noise_is_a_failed_candidate(blobs) -> None:
    matrix, _ = blobs
    spec = CandidateSpec("dbscan", (("eps", 1e-6), ("min_samples", 10)), fit_sample_size=500)
    partition = fit_candidate(spec, matrix, random_state=0)
    assert partition.status == "failed"
    assert "noise" in partition.message and "eps=1e-06" in partition.message
    assert partition.n_clusters == 0


def test_grid_skips_candidates_with_more_segments_than_customers() -> None:
    settings = SegmentationSettings.from_mapping(
        {"algorithms": ["kmeans", "hdbscan"], "kmeans": {"k_min": 2, "k_max": 6}}
    )
    specs = {spec.candidate_id: spec for spec in candidate_grid(settings, n_rows=5)}
    assert specs["kmeans__n_clusters=4"].skip_reason is None
    assert "at least 6 customers; there are 5" in specs["kmeans__n_clusters=5"].skip_reason
    assert specs["hdbscan__min_cluster_size=50__min_samples=None"].skip_reason is not None
    partition = fit_candidate(specs["kmeans__n_clusters=6"], np.zeros((5, 2)), 0)
    assert partition.status == "skipped"


@pytest.mark.parametrize("spec", [SPECS[0], SPECS[2], SPECS[4], SPECS[6]], ids=str)
def test_same_seed_same_labels_whatever_the_thread_count(spec) -> None:
    matrix, _ = make_blobs(n_samples=3000, centers=5, n_features=6, cluster_std=2.0, random_state=1)
    with threadpool_limits(limits=1):
        single = fit_candidate(spec, matrix, random_state=4)
    with threadpool_limits(limits=2):
        double = fit_candidate(spec, matrix, random_state=4)
    np.testing.assert_array_equal(single.labels, double.labels)
    np.testing.assert_allclose(single.representatives, double.representatives, rtol=1e-10)


@pytest.mark.parametrize("linkage", ["ward", "average"])
def test_agglomerative_cuts_of_one_cached_tree_match_fresh_fits(linkage) -> None:
    # overlapping groups, so cuts at different k really differ
    matrix, _ = make_blobs(n_samples=900, centers=6, n_features=4, cluster_std=2.5, random_state=8)
    sample = seeded_sample(matrix.shape[0], 500, 0)
    for k in (2, 3, 5, 8):
        spec = CandidateSpec("agglomerative", (("linkage", linkage), ("n_clusters", k)), 500)
        partition = fit_candidate(spec, matrix, 0)
        fresh = AgglomerativeClustering(n_clusters=k, linkage=linkage).fit_predict(matrix[sample])
        assert adjusted_rand_score(fresh, partition.labels[sample]) == pytest.approx(1.0)
        assert partition.n_clusters == k


def test_fits_side_by_side_equal_one_thread_fits_one_after_another(monkeypatch):
    # Each worker limits its own OpenMP threads: without that, the workers' K-Means runs on
    # every core, its sums add up in another order and the centres move in their last bits.
    monkeypatch.setattr(algorithms, "FIT_WORKERS", 2)
    # no clusters to find: where Lloyd's iterations stop depends on the last bits of the sums
    matrix = np.random.default_rng(5).normal(size=(20_000, 7))
    specs = [CandidateSpec("kmeans", (("n_clusters", k), ("n_init", 4))) for k in range(2, 11)]
    with threadpool_limits(limits=1):
        alone = [fit_candidate(spec, matrix, 11) for spec in specs]
    side_by_side = map_fits(lambda spec: fit_candidate(spec, matrix, 11), specs)
    assert [fit.spec for fit in side_by_side] == specs
    for one, other in zip(alone, side_by_side, strict=True):
        np.testing.assert_array_equal(one.labels, other.labels)
        np.testing.assert_array_equal(one.representatives, other.representatives)


def test_map_fits_keeps_the_order_and_raises_a_fits_error(monkeypatch):
    monkeypatch.setattr(algorithms, "FIT_WORKERS", 2)
    assert map_fits(lambda value: value * value, range(7)) == [0, 1, 4, 9, 16, 25, 36]

    def failing(value: int) -> int:
        if value == 3:
            raise ValueError("fit 3 failed")
        return value

    with pytest.raises(ValueError, match="fit 3 failed"):
        map_fits(failing, range(5))

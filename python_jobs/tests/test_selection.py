"""Candidate metrics, the written selection rule, agreement and segment ordering."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_score

from segmentation.config.segmentation import SegmentationSettings
from segmentation.engine.algorithms import CandidateSpec, Partition, deployed_labels, fit_candidate
from segmentation.engine.selection import (
    SelectionError,
    agreement_frame,
    best_per_algorithm,
    candidates_frame,
    choose_winner,
    score_candidate,
    segment_order,
)

SELECTION = SegmentationSettings.from_mapping(
    {"selection": {"min_segment_share": 0.05, "silhouette_tie_tolerance": 0.02}}
).selection
ORDER = ("kmeans", "gaussian_mixture", "agglomerative", "dbscan", "hdbscan")


def row(candidate_id: str, n_segments: int, silhouette: float | None, **extra) -> dict:
    base = {
        "candidate_id": candidate_id,
        "algorithm": candidate_id.split("__")[0],
        "status": "ok",
        "status_message": None,
        "n_segments": n_segments,
        "silhouette": silhouette,
        "davies_bouldin": 1.0,
        "smallest_segment_share": 0.2,
        "noise_share": 0.0,
        "n_customers": 100,
    }
    return {**base, **extra}


def test_best_silhouette_wins_when_clear() -> None:
    rows = [row("kmeans__k=3", 3, 0.40), row("kmeans__k=5", 5, 0.55), row("kmeans__k=2", 2, 0.30)]
    winner, rows = choose_winner(rows, SELECTION, ORDER)
    assert winner.candidate_id == "kmeans__k=5" and not winner.used_fallback
    assert [r["rank"] for r in rows] == [2, 1, 3]
    assert [r["is_winner"] for r in rows] == [False, True, False]
    assert "best silhouette 0.5500" in winner.reason


def test_ties_go_to_fewer_segments() -> None:
    rows = [row("kmeans__k=6", 6, 0.50), row("kmeans__k=4", 4, 0.49), row("kmeans__k=3", 3, 0.40)]
    winner, rows = choose_winner(rows, SELECTION, ORDER)
    assert winner.candidate_id == "kmeans__k=4"
    assert "tie-break" in rows[0]["selection_reason"]
    assert "below the best" in rows[2]["selection_reason"]


def test_equal_candidates_are_broken_by_algorithm_order_then_id() -> None:
    rows = [row("hdbscan__x", 4, 0.5), row("gaussian_mixture__k=4", 4, 0.5)]
    winner, _ = choose_winner(rows, SELECTION, ORDER)
    assert winner.candidate_id == "gaussian_mixture__k=4"


def test_small_segments_and_noise_disqualify() -> None:
    rows = [
        row("kmeans__k=8", 8, 0.70, smallest_segment_share=0.01),
        row("dbscan__a", 3, 0.80, noise_share=0.5),
        row("kmeans__k=3", 3, 0.45),
    ]
    winner, rows = choose_winner(rows, SELECTION, ORDER)
    assert winner.candidate_id == "kmeans__k=3"
    assert (
        not rows[0]["is_qualified"]
        and "smallest segment holds 1.0%" in rows[0]["qualification_note"]
    )
    assert "noise share 50.0%" in rows[1]["qualification_note"]
    assert rows[0]["rank"] is None


def test_fallback_when_nothing_qualifies_is_recorded() -> None:
    rows = [
        row("kmeans__k=3", 3, 0.45, smallest_segment_share=0.01),
        row("kmeans__k=2", 2, 0.40, smallest_segment_share=0.02),
    ]
    winner, _ = choose_winner(rows, SELECTION, ORDER)
    assert winner.used_fallback and winner.candidate_id == "kmeans__k=3"
    assert "NONE qualified" in winner.reason


def test_no_usable_candidate_raises_with_every_reason() -> None:
    rows = [
        row("dbscan__a", 0, None, status="failed", status_message="all noise"),
        row("kmeans__k=9", 0, None, status="skipped", status_message="needs 10 customers"),
    ]
    with pytest.raises(SelectionError, match="dbscan__a: failed: all noise.*needs 10 customers"):
        choose_winner(rows, SELECTION, ORDER)


def test_scores_of_a_real_partition() -> None:
    matrix, _ = make_blobs(n_samples=1200, centers=3, n_features=4, random_state=2)
    spec = CandidateSpec("kmeans", (("n_clusters", 3), ("n_init", 2)))
    scored = score_candidate(fit_candidate(spec, matrix, 0), matrix, SELECTION, 0)
    sizes = json.loads(scored["cluster_sizes"])
    assert sum(sizes) == 1200 and sizes == sorted(sizes, reverse=True)
    assert scored["smallest_segment_share"] == pytest.approx(min(sizes) / 1200)
    assert scored["silhouette"] > 0.6 and scored["inertia"] > 0 and scored["noise_share"] == 0
    assert scored["bic"] is None


def test_noise_is_counted_and_scored_where_it_would_be_assigned() -> None:
    matrix, _ = make_blobs(n_samples=300, centers=2, n_features=2, random_state=4)
    side = (matrix[:, 0] > np.median(matrix[:, 0])).astype(int)
    labels = np.where(np.arange(300) < 30, -1, side)
    representatives = np.vstack([matrix[labels == c].mean(axis=0) for c in (0, 1)])
    spec = CandidateSpec("dbscan", (("eps", 1.0), ("min_samples", 5)))
    partition = Partition(spec, "ok", labels=labels, representatives=representatives)
    partition.fit_index = np.arange(300)
    scored = score_candidate(partition, matrix, SELECTION, 0)
    assert scored["noise_share"] == pytest.approx(0.1)
    deployed = deployed_labels(partition, matrix)
    assert (deployed >= 0).all() and np.array_equal(deployed[30:], labels[30:])
    assert json.loads(scored["cluster_sizes"]) == sorted(np.bincount(deployed).tolist())[::-1]
    assert scored["silhouette"] == pytest.approx(silhouette_score(matrix, deployed))
    assert scored["inertia"] is None


def test_segment_ids_follow_median_revenue_not_labels() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2])
    revenue = np.array([10.0, 12.0, 500.0, 400.0, 50.0, 60.0])
    order = segment_order(labels, revenue, 3)
    assert order.tolist() == [3, 1, 2]


def test_agreement_of_identical_and_permuted_partitions_is_one() -> None:
    matrix, _ = make_blobs(n_samples=400, centers=3, n_features=3, random_state=5)
    km = fit_candidate(CandidateSpec("kmeans", (("n_clusters", 3), ("n_init", 2))), matrix, 0)
    ag = fit_candidate(
        CandidateSpec("agglomerative", (("linkage", "ward"), ("n_clusters", 3))), matrix, 0
    )
    frame = agreement_frame({"km": km, "ag": ag})
    assert len(frame) == 1 and frame["adjusted_rand_index"].iloc[0] == pytest.approx(1.0)


def test_best_per_algorithm_uses_the_same_rule() -> None:
    rows = [
        row("kmeans__k=3", 3, 0.40),
        row("kmeans__k=4", 4, 0.60),
        row("agglomerative__k=2", 2, 0.50),
    ]
    _, rows = choose_winner(rows, SELECTION, ORDER)
    frame = candidates_frame(rows)
    best = best_per_algorithm(frame, SELECTION, ORDER)
    assert best == {"kmeans": "kmeans__k=4", "agglomerative": "agglomerative__k=2"}

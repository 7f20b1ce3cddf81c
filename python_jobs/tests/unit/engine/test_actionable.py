"""The actionable selection rule (segmentation.engine.actionable) and the share rule."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from segmentation.config.segmentation import SegmentationSettings
from segmentation.engine.actionable import choose_actionable, segment_stability
from segmentation.engine.algorithms import CandidateSpec, fit_candidate
from segmentation.engine.selection import SelectionError, is_valuable, qualify

SETTINGS = SegmentationSettings.from_mapping(None)
SELECTION = SETTINGS.selection
ORDER = SETTINGS.algorithms


def row(k: int, silhouette: float, algorithm: str = "kmeans", **extra) -> dict:
    """A scored candidate whose segments all hold the same share of customers."""
    return {
        "candidate_id": f"{algorithm}__n_clusters={k}",
        "algorithm": algorithm,
        "status": "ok",
        "status_message": None,
        "n_segments": k,
        "silhouette": silhouette,
        "davies_bouldin": 1.0,
        "smallest_segment_share": 1.0 / k,
        "segment_shares": [1.0 / k] * k,
        "segment_revenue_shares": [1.0 / k] * k,
        "noise_share": 0.0,
        **extra,
    }


def measured(values: dict[str, list[float]]):
    """A measure function returning fixed per-segment stabilities, recording what it measured."""
    calls: list[str] = []

    def measure(candidate_id: str) -> np.ndarray:
        calls.append(candidate_id)
        return np.array(values[candidate_id])

    return measure, calls


def test_the_most_segments_among_stable_near_ties_win() -> None:
    rows = [row(3, 0.40), row(4, 0.30), row(5, 0.295), row(6, 0.29), row(7, 0.25)]
    measure, _ = measured(
        {
            "kmeans__n_clusters=4": [0.95] * 4,
            "kmeans__n_clusters=5": [0.9] * 5,
            "kmeans__n_clusters=6": [0.92] * 6,
            "kmeans__n_clusters=7": [0.9] * 7,
        }
    )
    winner, rows = choose_actionable(rows, SELECTION, ORDER, measure)
    # 6 is stable and within 0.02 of the best stable silhouette (0.30); 7 is stable but 0.05 off
    assert winner.candidate_id == "kmeans__n_clusters=6"
    ranks = {r["candidate_id"]: r["rank"] for r in rows}
    assert ranks["kmeans__n_clusters=5"] == 2 and ranks["kmeans__n_clusters=4"] == 3
    assert "runner-up kmeans__n_clusters=5" in winner.reason


def test_a_dissolved_segment_makes_a_candidate_unstable_whatever_the_mean() -> None:
    rows = [row(4, 0.30), row(5, 0.31)]
    measure, _ = measured(
        {"kmeans__n_clusters=4": [0.9] * 4, "kmeans__n_clusters=5": [0.99, 0.99, 0.99, 0.99, 0.5]}
    )
    winner, rows = choose_actionable(rows, SELECTION, ORDER, measure)
    assert winner.candidate_id == "kmeans__n_clusters=4"
    five = next(r for r in rows if r["n_segments"] == 5)
    assert five["is_stable"] is False and five["min_segment_stability"] == 0.5
    assert "unstable" in five["selection_reason"]


def test_below_the_range_the_largest_stable_k_wins_and_says_so() -> None:
    rows = [row(2, 0.5), row(3, 0.45), row(4, 0.4), row(5, 0.35)]
    measure, calls = measured(
        {
            "kmeans__n_clusters=2": [0.99] * 2,
            "kmeans__n_clusters=3": [0.9] * 3,
            "kmeans__n_clusters=4": [0.6] * 4,
            "kmeans__n_clusters=5": [0.7] * 5,
        }
    )
    winner, _ = choose_actionable(rows, SELECTION, ORDER, measure)
    assert winner.candidate_id == "kmeans__n_clusters=3"
    assert "this log supports only 3 stable segments" in winner.reason
    # the range first, then downwards: 3, and 2 as the runner-up
    assert calls[-2:] == ["kmeans__n_clusters=3", "kmeans__n_clusters=2"]


def test_only_the_measured_algorithms_are_measured_and_can_win() -> None:
    rows = [row(5, 0.6, algorithm="gaussian_mixture"), row(4, 0.3)]
    measure, calls = measured({"kmeans__n_clusters=4": [0.9] * 4})
    winner, rows = choose_actionable(rows, SELECTION, ORDER, measure)
    assert winner.candidate_id == "kmeans__n_clusters=4" and calls == ["kmeans__n_clusters=4"]
    other = next(r for r in rows if r["algorithm"] == "gaussian_mixture")
    assert "stability.algorithms" in other["selection_reason"]


def test_no_stable_candidate_names_the_best_and_the_vars_to_relax() -> None:
    rows = [row(4, 0.3), row(5, 0.3)]
    measure, _ = measured({"kmeans__n_clusters=4": [0.7] * 4, "kmeans__n_clusters=5": [0.6] * 5})
    with pytest.raises(SelectionError) as raised:
        choose_actionable(rows, SELECTION, ORDER, measure)
    message = str(raised.value)
    assert "kmeans__n_clusters=4 (4 segments, weakest segment Jaccard 0.70" in message
    assert "min_segment_stability" in message and "target_segments" in message


def test_a_small_segment_is_admitted_only_when_it_is_valuable() -> None:
    shares = [0.5, 0.48, 0.02]
    small_but_rich = row(3, 0.3, segment_shares=shares, segment_revenue_shares=[0.3, 0.3, 0.4])
    small_and_poor = row(3, 0.3, segment_shares=shares, segment_revenue_shares=[0.5, 0.49, 0.01])
    assert qualify(small_but_rich, SELECTION) == (True, "qualifies")
    ok, note = qualify(small_and_poor, SELECTION)
    assert not ok and "below min_segment_share 3.0% and not valuable" in note
    # the valuable exception still has a floor: 1 % of the customers
    assert not is_valuable(0.005, 0.5, SELECTION)
    assert is_valuable(0.01, 0.03, SELECTION) and not is_valuable(0.01, 0.029, SELECTION)


def test_measured_stability_tells_real_groups_from_cuts_of_one() -> None:
    blobs, _ = make_blobs(2000, n_features=3, centers=4, cluster_std=0.5, random_state=3)
    noise = np.random.default_rng(3).normal(size=(2000, 3))
    settings = SegmentationSettings.from_mapping({"selection": {"stability": {"resamples": 8}}})
    spec = CandidateSpec("kmeans", (("n_clusters", 4), ("n_init", 3)))
    real = segment_stability(fit_candidate(spec, blobs, 0), blobs, settings.selection, 0)
    cuts = CandidateSpec("kmeans", (("n_clusters", 7), ("n_init", 3)))
    arbitrary = segment_stability(fit_candidate(cuts, noise, 0), noise, settings.selection, 0)
    assert real.min() > 0.95
    assert arbitrary.min() < 0.75


def test_a_retrain_keeps_the_kept_models_number_of_segments_while_it_is_stable() -> None:
    rows = [row(4, 0.30), row(5, 0.35), row(6, 0.34)]
    stabilities = {
        "kmeans__n_clusters=4": [0.9] * 4,
        "kmeans__n_clusters=5": [0.9] * 5,
        "kmeans__n_clusters=6": [0.9] * 6,
    }
    alone, _ = choose_actionable(
        [dict(r) for r in rows], SELECTION, ORDER, measured(stabilities)[0]
    )
    assert alone.candidate_id == "kmeans__n_clusters=6"
    winner, annotated = choose_actionable(
        [dict(r) for r in rows], SELECTION, ORDER, measured(stabilities)[0], preferred_segments=4
    )
    assert winner.candidate_id == "kmeans__n_clusters=4"
    assert winner.reason.startswith("kept the kept model's 4 segments")
    assert "the rule alone would choose kmeans__n_clusters=6" in winner.reason
    ranks = {r["candidate_id"]: r["rank"] for r in annotated}
    assert ranks["kmeans__n_clusters=4"] == 1 and ranks["kmeans__n_clusters=6"] == 2


def test_a_kept_number_of_segments_below_the_range_is_measured_and_kept() -> None:
    rows = [row(3, 0.40), row(4, 0.30), row(5, 0.29)]
    measure, calls = measured(
        {
            "kmeans__n_clusters=3": [0.95] * 3,
            "kmeans__n_clusters=4": [0.9] * 4,
            "kmeans__n_clusters=5": [0.9] * 5,
        }
    )
    winner, _ = choose_actionable(rows, SELECTION, ORDER, measure, preferred_segments=3)
    assert winner.candidate_id == "kmeans__n_clusters=3"
    assert "kmeans__n_clusters=3" in calls


def test_when_the_kept_number_is_no_longer_stable_the_reason_says_why_it_changes() -> None:
    rows = [row(4, 0.30), row(5, 0.35)]
    measure, _ = measured(
        {"kmeans__n_clusters=4": [0.95, 0.95, 0.95, 0.6], "kmeans__n_clusters=5": [0.9] * 5}
    )
    winner, _ = choose_actionable(rows, SELECTION, ORDER, measure, preferred_segments=4)
    assert winner.candidate_id == "kmeans__n_clusters=5"
    assert winner.reason.startswith("the kept model's 4 segments are no longer stable")
    assert (
        "weakest segment Jaccard 0.60" in winner.reason
        and "chosen kmeans__n_clusters=5" in winner.reason
    )


def test_a_kept_number_no_candidate_has_is_named_in_the_reason() -> None:
    rows = [row(4, 0.30), row(5, 0.35)]
    measure, _ = measured({"kmeans__n_clusters=4": [0.9] * 4, "kmeans__n_clusters=5": [0.9] * 5})
    winner, _ = choose_actionable(rows, SELECTION, ORDER, measure, preferred_segments=9)
    assert winner.candidate_id == "kmeans__n_clusters=5"
    assert "no qualifying candidate of ['kmeans'] has 9 segments" in winner.reason

"""The "actionable" selection rule: the most segments a marketer can rely on.

A segment is worth acting on only if it comes back when the customers are resampled, so this
rule requires every segment to be stable and only then looks at separation:

1. A candidate *qualifies* as in :func:`segmentation.engine.selection.qualify`: it ran, has
   between ``min_segments`` and ``max_segments`` segments, a silhouette, at most
   ``max_noise_share`` noise, and every segment meets the share rule (at least
   ``min_segment_share`` of the customers, or small but valuable).
2. Qualifying candidates of the algorithms in ``stability.algorithms`` (K-Means by default: its
   refits are cheap and its convex segments are what the SQL scoring assigns) are *measured*:
   clusterboot (Hennig 2007) on a seeded sample of ``stability.sample_size`` customers with
   ``stability.resamples`` bootstrap refits, each labelling customers by their nearest
   representative, as the deployed model does. A candidate is *stable* when every segment's mean
   Jaccard reaches ``min_segment_stability`` and their mean reaches ``min_mean_stability``.
   Candidates with ``target_segments`` segments are measured first; smaller ones only when none
   of those is stable.
3. Among the stable candidates in the target range, the best silhouette leads, and every stable
   candidate within ``granularity_tolerance`` of it ties: of the tied, the one with the most
   segments wins (then the better silhouette). Picking the largest stable k outright would move
   between seeds where several k are borderline stable; near-ties in separation go to detail.
4. When no candidate in the range is stable, the largest stable k below it wins and the reason
   says that the log supports only that many stable segments. When none at all is stable,
   :class:`~segmentation.engine.selection.SelectionError` lists the best measured candidates
   with their stability and the vars to relax.
5. A retrain passes the kept model's number of segments as ``preferred_segments``: while a
   candidate with that many segments is stable, the best of them (silhouette) wins, so campaigns
   keep their number of segments; the reason says so, and names what the rule alone would
   choose when that differs. When none is stable (or none qualifies), the rule above chooses and
   the reason says why the number of segments changes.

Cost: at most one measurement per candidate of the measured algorithms with k up to the top of
the range (seven for K-Means with the defaults), each by ``stability.resamples`` refits on at
most ``stability.sample_size`` customers, whatever the number of customers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from segmentation.config.segmentation import SelectionSettings
from segmentation.engine.algorithms import (
    Partition,
    nearest_representative,
    seeded_sample,
    stage_seed,
)
from segmentation.engine.selection import SelectionError, Winner, qualify
from segmentation.evaluation.metrics import BootstrapStability

Measure = Callable[[str], np.ndarray]


def segment_stability(
    partition: Partition, matrix: np.ndarray, settings: SelectionSettings, random_state: int
) -> np.ndarray:
    """Mean bootstrap Jaccard of every segment of ``partition`` (label order; NaN for a segment
    with no customer in the sample).

    The sample and the resamples are drawn as the evaluation of the kept model draws them
    (:func:`segmentation.evaluation.tables.segment_stability`), so the winner's figures here and
    in ml_segment_stability agree when both use the same sizes.
    """
    sample = seeded_sample(
        matrix.shape[0], settings.stability_sample_size, stage_seed(random_state, 1)
    )
    labels, _ = nearest_representative(matrix[sample], partition.representatives)
    present = np.unique(labels)
    result = BootstrapStability(
        partition.spec,
        settings.stability_resamples,
        stage_seed(random_state, 2),
        "nearest_representative",
    ).fit(matrix[sample], np.searchsorted(present, labels))
    stability = np.full(partition.n_clusters, np.nan)
    stability[present] = result.segment_stability_
    return stability


def choose_actionable(
    rows: list[dict[str, object]],
    settings: SelectionSettings,
    algorithm_order: tuple[str, ...],
    measure: Measure,
    preferred_segments: int | None = None,
) -> tuple[Winner, list[dict[str, object]]]:
    """Apply the actionable rule (module docstring); ``measure(candidate_id)`` gives the
    per-segment stability of a candidate; ``preferred_segments`` is the number of segments to
    keep while stable (rule 5). Returns the winner and the rows with their stability, rank,
    is_winner and selection_reason."""
    for row in rows:
        row["is_qualified"], row["qualification_note"] = qualify(row, settings)
    low, high = settings.target_segments
    measurable = [
        row
        for row in rows
        if row["is_qualified"]
        and row["algorithm"] in settings.stability_algorithms
        and int(row["n_segments"]) <= high
    ]
    inside = [row for row in measurable if int(row["n_segments"]) >= low]
    for row in inside:
        _record(row, measure(str(row["candidate_id"])), settings)
    ranked = _rank_inside([row for row in inside if row["is_stable"]], settings)
    below = sorted(
        (row for row in measurable if int(row["n_segments"]) < low),
        key=lambda row: (-int(row["n_segments"]), -float(row["silhouette"])),
    )
    for row in below:  # the largest stable k below the range, and one more as runner-up
        if len(ranked) >= 2:
            break
        _record(row, measure(str(row["candidate_id"])), settings)
        if row["is_stable"]:
            ranked.append(row)
    kept, note = _preferred(measurable, preferred_segments, measure, settings)
    if kept is None and not ranked:
        raise SelectionError(note + _nothing_stable(rows, settings))
    if kept is None:
        winner_row = ranked[0]
        reason = note + _reason(winner_row, ranked[1:2], rows, settings)
    else:
        winner_row = kept
        reason = note
        if ranked and ranked[0] is not kept:
            reason += f"; the rule alone would choose {_describe(ranked[0])}"
        ranked = [kept, *(row for row in ranked if row is not kept)]
    _annotate(rows, winner_row, ranked, settings)
    winner_row["selection_reason"] = reason
    return Winner(str(winner_row["candidate_id"]), reason, used_fallback=False), rows


def _preferred(
    measurable: list[dict[str, object]],
    preferred: int | None,
    measure: Measure,
    settings: SelectionSettings,
) -> tuple[dict[str, object] | None, str]:
    """The best stable candidate with ``preferred`` segments (None if there is none), and the
    reason's text: why it was kept, or why the number of segments changes ("" without a
    preference)."""
    if preferred is None:
        return None, ""
    same = [row for row in measurable if int(row["n_segments"]) == preferred]
    if not same:
        return None, (
            f"the kept model's {preferred} segments cannot be kept: no qualifying candidate of "
            f"{list(settings.stability_algorithms)} has {preferred} segments; "
        )
    for row in same:
        if row.get("segment_stability") is None:
            _record(row, measure(str(row["candidate_id"])), settings)
    stable = [row for row in same if row["is_stable"]]
    if not stable:
        best = max(same, key=lambda row: float(row["min_segment_stability"]))
        return None, (
            f"the kept model's {preferred} segments are no longer stable ({_describe(best)}), so "
            "the number of segments changes: "
        )
    kept = max(stable, key=lambda row: (float(row["silhouette"]), str(row["candidate_id"])))
    return kept, (
        f"kept the kept model's {preferred} segments: {_describe(kept)} is stable "
        f"({_stable_text(settings)})"
    )


def _rank_inside(
    stable: list[dict[str, object]], settings: SelectionSettings
) -> list[dict[str, object]]:
    """Stable candidates in the range, best first: those within granularity_tolerance of the
    best silhouette by most segments, then the rest by silhouette."""
    if not stable:
        return []
    best = max(float(row["silhouette"]) for row in stable)
    tied = [r for r in stable if float(r["silhouette"]) >= best - settings.granularity_tolerance]
    rest = [r for r in stable if r not in tied]
    tied.sort(
        key=lambda r: (-int(r["n_segments"]), -float(r["silhouette"]), str(r["candidate_id"]))
    )
    rest.sort(key=lambda r: (-float(r["silhouette"]), str(r["candidate_id"])))
    return tied + rest


def _record(row: dict[str, object], stability: np.ndarray, settings: SelectionSettings) -> None:
    """Store a measured candidate's stability in its row."""
    finite = stability[np.isfinite(stability)]
    row["segment_stability"] = [None if np.isnan(v) else float(v) for v in stability]
    row["min_segment_stability"] = float(finite.min()) if finite.size else 0.0
    row["mean_segment_stability"] = float(finite.mean()) if finite.size else 0.0
    row["is_stable"] = bool(
        finite.size == stability.size
        and finite.min() >= settings.min_segment_stability
        and finite.mean() >= settings.min_mean_stability
    )


def _describe(row: dict[str, object]) -> str:
    weakest, mean = float(row["min_segment_stability"]), float(row["mean_segment_stability"])
    return (
        f"{row['candidate_id']} ({row['n_segments']} segments, weakest segment Jaccard "
        f"{weakest:.2f}, mean {mean:.2f}, silhouette {float(row['silhouette']):.3f})"
    )


def _stable_text(settings: SelectionSettings) -> str:
    return (
        f"every segment's bootstrap Jaccard >= {settings.min_segment_stability:g} and their mean "
        f">= {settings.min_mean_stability:g}"
    )


def _reason(
    winner: dict[str, object],
    runners_up: list[dict[str, object]],
    rows: list[dict[str, object]],
    settings: SelectionSettings,
) -> str:
    low, high = settings.target_segments
    k = int(winner["n_segments"])
    if low <= k <= high:
        head = (
            f"chosen {_describe(winner)}: stable ({_stable_text(settings)}), and the most "
            f"segments among the stable candidates with {low}-{high} segments whose silhouette "
            f"is within {settings.granularity_tolerance:g} of the best of them"
        )
    else:
        head = (
            f"this log supports only {k} stable segments: no candidate with {low}-{high} segments "
            f"is stable ({_stable_text(settings)}); chosen {_describe(winner)}"
        )
    parts = [head]
    unstable = [
        r
        for r in rows
        if r.get("segment_stability") is not None
        and not r["is_stable"]
        and int(r["n_segments"]) > k
    ]
    if unstable:
        best = max(unstable, key=lambda r: float(r["min_segment_stability"]))
        parts.append(f"with more segments the best was unstable: {_describe(best)}")
    if runners_up:
        parts.append(f"runner-up {_describe(runners_up[0])}")
    return "; ".join(parts)


def _annotate(
    rows: list[dict[str, object]],
    winner: dict[str, object],
    stable: list[dict[str, object]],
    settings: SelectionSettings,
) -> None:
    """Rank (the stable ones in rule order, then the other measured ones by stability, then
    the qualified ones not measured) and say why each lost."""
    measured = [r for r in rows if r.get("segment_stability") is not None and r not in stable]
    measured.sort(key=lambda r: -float(r["min_segment_stability"]))
    qualified = [r for r in rows if r["is_qualified"] and r.get("segment_stability") is None]
    qualified.sort(key=lambda r: (-int(r["n_segments"]), -float(r["silhouette"])))
    for rank, row in enumerate([*stable, *measured, *qualified], start=1):
        row["rank"] = rank
    for row in rows:
        row["is_winner"] = row is winner
        row.setdefault("rank", None)
        row.setdefault("is_stable", None)
        row.setdefault("segment_stability", None)
        row.setdefault("min_segment_stability", None)
        row.setdefault("mean_segment_stability", None)
        if row is winner:
            continue
        if not row["is_qualified"]:
            row["selection_reason"] = f"not considered: {row['qualification_note']}"
        elif row in stable:
            row["selection_reason"] = f"stable, ranked {row['rank']}: {_describe(row)}"
        elif row["segment_stability"] is not None:
            row["selection_reason"] = (
                f"unstable ({_stable_text(settings)} not met): {_describe(row)}"
            )
        elif row["algorithm"] not in settings.stability_algorithms:
            row["selection_reason"] = (
                "not measured: the actionable objective measures the algorithms in "
                "segmentation.selection.stability.algorithms"
            )
        else:
            row["selection_reason"] = "not measured: a stable candidate with more segments won"


def _nothing_stable(rows: list[dict[str, object]], settings: SelectionSettings) -> str:
    measured = [r for r in rows if r.get("segment_stability") is not None]
    measured.sort(key=lambda r: -float(r["min_segment_stability"]))
    qualified = [r["candidate_id"] for r in rows if r["is_qualified"]]
    if measured:
        found = "best measured: " + "; ".join(_describe(r) for r in measured[:5])
    elif qualified:
        found = (
            f"no qualifying candidate is of the measured algorithms "
            f"{list(settings.stability_algorithms)} with at most "
            f"{settings.target_segments[1]} segments (qualifying: {', '.join(qualified[:8])})"
        )
    else:
        notes = "; ".join(f"{r['candidate_id']}: {r['qualification_note']}" for r in rows[:8])
        found = f"no candidate qualified ({notes})"
    return (
        f"no candidate is stable ({_stable_text(settings)}), so this log supports no "
        f"segmentation under the current settings; {found}. Relax "
        "segmentation.selection.min_segment_stability, min_mean_stability, min_segment_share or "
        "target_segments, add algorithms to segmentation.selection.stability.algorithms, or "
        "choose objective: separation"
    )

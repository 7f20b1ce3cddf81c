"""The "actionable" selection rule: the most segments a marketer can rely on.

A segment is worth acting on only if it comes back when the customers are resampled, so this
rule ranks candidates by per-segment stability within a useful range of segment counts and
uses separation (silhouette) only to break ties:

1. A candidate *qualifies* as in :func:`segmentation.engine.selection.qualify`: it ran, has
   between ``min_segments`` and ``max_segments`` segments, a silhouette, at most
   ``max_noise_share`` noise, and every segment meets the share rule (at least
   ``min_segment_share`` of the customers, or small but valuable).
2. The numbers of segments are examined from the top of ``target_segments`` down to its bottom,
   then further down to ``min_segments``. At each k the qualifying candidates are tried in
   silhouette order; each one tried is measured: clusterboot (Hennig 2007) on a seeded sample of
   ``stability.sample_size`` customers with ``stability.resamples`` bootstrap refits, every
   refit labelling customers by their nearest representative, as the deployed model does. A
   candidate is *stable* when every segment's mean Jaccard reaches ``min_segment_stability``.
3. The first stable candidate wins: the largest stable k in the target range, the best
   silhouette among the stable ones at that k. When no k in the range is stable, the closest
   stable k below it wins and the reason says that the log supports only that many stable
   segments. One more stable candidate is measured after the winner, as the runner-up.
4. When no candidate is stable, :class:`~segmentation.engine.selection.SelectionError` lists
   the best candidate of each k with its measured stability and the vars to relax.

Cost: at most two candidates per k are measured, each by ``stability.resamples`` refits on at
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

# Candidates measured at each k before moving to the next smaller k.
CANDIDATES_PER_K = 2

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


def examined_ks(settings: SelectionSettings) -> list[int]:
    """The numbers of segments in the order the rule examines them."""
    low = max(settings.target_segments[0], settings.min_segments)
    high = min(settings.target_segments[1], settings.max_segments)
    return [*range(high, low - 1, -1), *range(low - 1, settings.min_segments - 1, -1)]


def choose_actionable(
    rows: list[dict[str, object]],
    settings: SelectionSettings,
    algorithm_order: tuple[str, ...],
    measure: Measure,
) -> tuple[Winner, list[dict[str, object]]]:
    """Apply the actionable rule (module docstring); ``measure(candidate_id)`` gives the
    per-segment stability of a candidate. Returns the winner and the rows with their stability,
    rank, is_winner and selection_reason."""
    order = {name: i for i, name in enumerate(algorithm_order)}
    for row in rows:
        row["is_qualified"], row["qualification_note"] = qualify(row, settings)
        row.setdefault("segment_stability", None)
    by_k: dict[int, list[dict[str, object]]] = {}
    for row in rows:
        if row["is_qualified"]:
            by_k.setdefault(int(row["n_segments"]), []).append(row)
    for candidates in by_k.values():
        candidates.sort(key=lambda r: (-float(r["silhouette"]), order.get(str(r["algorithm"]), 99)))
    stable: list[dict[str, object]] = []
    for k in examined_ks(settings):
        for row in by_k.get(k, [])[:CANDIDATES_PER_K]:
            _record(row, measure(str(row["candidate_id"])), settings)
            if row["is_stable"]:
                stable.append(row)
                break
        if len(stable) == 2:
            break
    if not stable:
        raise SelectionError(_nothing_stable(rows, settings))
    winner_row = stable[0]
    reason = _reason(winner_row, stable[1:], rows, settings)
    _annotate(rows, winner_row, stable, settings)
    winner_row["selection_reason"] = reason
    return Winner(str(winner_row["candidate_id"]), reason, used_fallback=False), rows


def _record(row: dict[str, object], stability: np.ndarray, settings: SelectionSettings) -> None:
    """Store a measured candidate's stability in its row."""
    finite = stability[np.isfinite(stability)]
    row["segment_stability"] = [None if np.isnan(v) else float(v) for v in stability]
    row["min_segment_stability"] = float(finite.min()) if finite.size else 0.0
    row["mean_segment_stability"] = float(finite.mean()) if finite.size else 0.0
    row["is_stable"] = bool(
        finite.size == stability.size and finite.min() >= settings.min_segment_stability
    )


def _describe(row: dict[str, object]) -> str:
    weakest, mean = float(row["min_segment_stability"]), float(row["mean_segment_stability"])
    return (
        f"{row['candidate_id']} ({row['n_segments']} segments, weakest segment Jaccard "
        f"{weakest:.2f}, mean {mean:.2f}, silhouette {float(row['silhouette']):.3f})"
    )


def _reason(
    winner: dict[str, object],
    runners_up: list[dict[str, object]],
    rows: list[dict[str, object]],
    settings: SelectionSettings,
) -> str:
    low, high = settings.target_segments
    k = int(winner["n_segments"])
    larger = [
        r
        for r in rows
        if r.get("segment_stability") is not None
        and int(r["n_segments"]) > k
        and not r["is_stable"]
    ]
    parts = []
    if low <= k <= high:
        parts.append(
            f"the most segments in the target range {low}-{high} whose every segment is stable "
            f"(bootstrap Jaccard >= {settings.min_segment_stability:g}): {_describe(winner)}"
        )
    else:
        parts.append(
            f"this log supports only {k} stable segments: no candidate with {low}-{high} "
            f"segments had every segment stable (bootstrap Jaccard >= "
            f"{settings.min_segment_stability:g}); chosen {_describe(winner)}"
        )
    if larger:
        best = max(larger, key=lambda r: float(r["min_segment_stability"]))
        parts.append(f"more segments were unstable, best {_describe(best)}")
    if runners_up:
        parts.append(f"runner-up {_describe(runners_up[0])}")
    return "; ".join(parts)


def _annotate(
    rows: list[dict[str, object]],
    winner: dict[str, object],
    stable: list[dict[str, object]],
    settings: SelectionSettings,
) -> None:
    """Rank (winner 1, runner-up 2, then measured by stability, then the rest) and reasons."""
    measured = [r for r in rows if r.get("segment_stability") is not None and r not in stable]
    measured.sort(key=lambda r: -float(r["min_segment_stability"]))
    qualified = [r for r in rows if r["is_qualified"] and r.get("segment_stability") is None]
    qualified.sort(key=lambda r: (-int(r["n_segments"]), -float(r["silhouette"])))
    ranked = [*stable, *measured, *qualified]
    for rank, row in enumerate(ranked, start=1):
        row["rank"] = rank
    for row in rows:
        row["is_winner"] = row is winner
        row.setdefault("rank", None)
        if row is winner:
            continue
        if not row["is_qualified"]:
            row["selection_reason"] = f"not considered: {row['qualification_note']}"
        elif row in stable:
            row["selection_reason"] = f"runner-up: stable, {_describe(row)}"
        elif row.get("segment_stability") is not None:
            weakest = float(row["min_segment_stability"])
            row["selection_reason"] = (
                f"unstable: weakest segment Jaccard {weakest:.2f} < "
                f"{settings.min_segment_stability:g}"
            )
        else:
            row["selection_reason"] = "not measured: a candidate ranked before it was stable"
    for row in rows:
        row.setdefault("is_stable", None)
        row.setdefault("min_segment_stability", None)
        row.setdefault("mean_segment_stability", None)


def _nothing_stable(rows: list[dict[str, object]], settings: SelectionSettings) -> str:
    measured = [r for r in rows if r.get("segment_stability") is not None]
    measured.sort(key=lambda r: -float(r["min_segment_stability"]))
    if measured:
        listed = "; ".join(_describe(r) for r in measured[:5])
        found = f"best measured: {listed}"
    else:
        notes = "; ".join(f"{r['candidate_id']}: {r['qualification_note']}" for r in rows[:8])
        found = f"no candidate qualified ({notes})"
    return (
        "no candidate has every segment stable (bootstrap Jaccard >= "
        f"{settings.min_segment_stability:g}), so this log supports no segmentation under the "
        f"current settings; {found}. Relax segmentation.selection.min_segment_stability, "
        "min_segment_share or target_segments, or choose objective: separation"
    )

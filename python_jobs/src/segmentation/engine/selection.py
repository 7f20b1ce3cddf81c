"""Scoring candidates, choosing the winner by a written rule, and comparing partitions.

Metrics (per candidate, on every customer unless said otherwise) describe the partition that
would be deployed: customers a density method calls noise are counted in ``noise_share`` and
otherwise go to their nearest representative, as in ml_customer_assignments (leaving noise out
would flatter density methods that discard the hard cases):

- ``silhouette``: mean silhouette on a seeded sample of ``silhouette_sample_size`` customers,
  the same sample for every candidate;
- ``davies_bouldin`` (lower is better), ``calinski_harabasz`` (higher is better);
- ``inertia``: K-Means only (sum of squared distances to the assigned centroid);
- ``bic``: Gaussian mixtures only, on their fit sample;
- cluster sizes, the smallest segment's share of all customers, the noise share.

Selection rule (:func:`choose_winner`):

1. A candidate *qualifies* when it ran, has between ``min_segments`` and ``max_segments``
   segments, a silhouette, a smallest segment of at least ``min_segment_share`` of customers and
   at most ``max_noise_share`` noise.
2. Among qualifying candidates take the best silhouette; every candidate within
   ``silhouette_tie_tolerance`` of it ties. Among the tied, fewer segments win, then the higher
   silhouette, then the lower Davies-Bouldin index, then the algorithm listed first in
   ``segmentation.algorithms``, then the candidate id.
3. When nothing qualifies, the same ranking runs over every candidate that has a silhouette and a
   segment count in range, and the reason says that the fallback was used. When no candidate has
   a silhouette at all, :class:`SelectionError` lists why each candidate failed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances,
    silhouette_score,
)

from segmentation.config.segmentation import SelectionSettings
from segmentation.engine.algorithms import NOISE, Partition, deployed_labels, seeded_sample
from segmentation.io.values import python_scalar

CANDIDATE_COLUMNS: tuple[str, ...] = (
    "candidate_id",
    "algorithm",
    "parameters",
    "n_segments_requested",
    "status",
    "status_message",
    "n_segments",
    "n_customers",
    "fit_sample_size",
    "fit_seconds",
    "score_seconds",
    "silhouette",
    "davies_bouldin",
    "calinski_harabasz",
    "inertia",
    "bic",
    "cluster_sizes",
    "smallest_segment_share",
    "noise_share",
    "is_qualified",
    "qualification_note",
    "rank",
    "is_winner",
    "selection_reason",
)


class SelectionError(RuntimeError):
    """No candidate can be chosen; the message says why for each candidate."""


@dataclass(frozen=True)
class Winner:
    candidate_id: str
    reason: str
    used_fallback: bool


@dataclass(frozen=True)
class SilhouetteSample:
    """The seeded sample of customers every candidate's silhouette is measured on, with the
    distances between them computed once for all candidates rather than once per candidate."""

    index: np.ndarray
    distances: np.ndarray

    @classmethod
    def draw(cls, matrix: np.ndarray, size: int, random_state: int) -> SilhouetteSample:
        index = seeded_sample(matrix.shape[0], size, random_state)
        distances = pairwise_distances(matrix[index])
        np.fill_diagonal(distances, 0.0)
        return cls(index, distances)

    def score(self, labels: np.ndarray) -> float | None:
        """Mean silhouette of the sample under ``labels`` (all rows); None when undefined."""
        sample_labels = labels[self.index]
        if not 2 <= np.unique(sample_labels).size <= self.index.size - 1:
            return None
        return float(silhouette_score(self.distances, sample_labels, metric="precomputed"))


def score_candidate(
    partition: Partition,
    matrix: np.ndarray,
    settings: SelectionSettings,
    random_state: int,
    silhouette_sample: SilhouetteSample | None = None,
) -> dict[str, object]:
    """The metrics row of one candidate (see the module docstring).

    ``silhouette_sample``: the sample drawn once for a whole candidate search; drawn here
    (same size and seed) when not given.
    """
    started = time.perf_counter()
    spec = partition.spec
    row: dict[str, object] = {
        "candidate_id": spec.candidate_id,
        "algorithm": spec.algorithm,
        "parameters": json.dumps(
            {**spec.param_dict, **partition.fitted_params}, sort_keys=True, default=str
        ),
        "n_segments_requested": spec.requested_clusters,
        "status": partition.status,
        "status_message": partition.message,
        "n_segments": partition.n_clusters,
        "n_customers": int(matrix.shape[0]),
        "fit_sample_size": int(partition.fit_index.size) if partition.status == "ok" else None,
        "fit_seconds": partition.fit_seconds,
        "score_seconds": 0.0,
    }
    for name in ("silhouette", "davies_bouldin", "calinski_harabasz", "inertia", "bic"):
        row[name] = None
    row.update(cluster_sizes=None, smallest_segment_share=None, noise_share=None)
    if partition.status != "ok":
        return row
    # Metrics describe the partition that is deployed: noise goes to its nearest representative.
    noise = partition.labels == NOISE
    labels = deployed_labels(partition, matrix)
    sizes = np.bincount(labels, minlength=partition.n_clusters)
    row["cluster_sizes"] = json.dumps(sorted((int(s) for s in sizes), reverse=True))
    row["smallest_segment_share"] = float(sizes.min() / labels.size)
    row["noise_share"] = float(noise.sum() / labels.size)
    row["bic"] = partition.bic
    if spec.algorithm == "kmeans":
        diffs = matrix - partition.representatives[labels]
        row["inertia"] = float(np.einsum("ij,ij->", diffs, diffs))
    n_labels = np.unique(labels).size
    if 2 <= n_labels <= matrix.shape[0] - 1:
        row["davies_bouldin"] = float(davies_bouldin_score(matrix, labels))
        row["calinski_harabasz"] = float(calinski_harabasz_score(matrix, labels))
        if silhouette_sample is None:
            silhouette_sample = SilhouetteSample.draw(
                matrix, settings.silhouette_sample_size, random_state
            )
        row["silhouette"] = silhouette_sample.score(labels)
    row["score_seconds"] = time.perf_counter() - started
    return row


def qualify(row: dict[str, object], settings: SelectionSettings) -> tuple[bool, str]:
    """Whether a scored candidate qualifies under rule 1, and a note on why not."""
    if row["status"] != "ok":
        return False, f"{row['status']}: {row['status_message']}"
    notes = []
    n_segments = int(row["n_segments"])
    if not settings.min_segments <= n_segments <= settings.max_segments:
        notes.append(
            f"{n_segments} segment(s), outside [{settings.min_segments}, {settings.max_segments}]"
        )
    if row["silhouette"] is None:
        notes.append("no silhouette (fewer than 2 segments in the sample)")
    share = float(row["smallest_segment_share"])
    if share < settings.min_segment_share:
        notes.append(
            f"smallest segment holds {share:.1%} < min_segment_share "
            f"{settings.min_segment_share:.1%}"
        )
    noise = float(row["noise_share"])
    if noise > settings.max_noise_share:
        notes.append(f"noise share {noise:.1%} > max_noise_share {settings.max_noise_share:.1%}")
    return (not notes), "; ".join(notes) if notes else "qualifies"


def _ranking_key(row: dict[str, object], algorithm_order: dict[str, int]) -> tuple:
    return (
        int(row["n_segments"]),
        -float(row["silhouette"]),
        float(row["davies_bouldin"]) if row["davies_bouldin"] is not None else np.inf,
        algorithm_order.get(str(row["algorithm"]), len(algorithm_order)),
        str(row["candidate_id"]),
    )


def choose_winner(
    rows: list[dict[str, object]],
    settings: SelectionSettings,
    algorithm_order: tuple[str, ...],
) -> tuple[Winner, list[dict[str, object]]]:
    """Apply the selection rule; returns the winner and the rows with rank/is_winner/reason."""
    order = {name: i for i, name in enumerate(algorithm_order)}
    for row in rows:
        row["is_qualified"], row["qualification_note"] = qualify(row, settings)
    pool = [row for row in rows if row["is_qualified"]]
    used_fallback = not pool
    if used_fallback:
        pool = [
            row
            for row in rows
            if row["status"] == "ok"
            and row["silhouette"] is not None
            and settings.min_segments <= int(row["n_segments"]) <= settings.max_segments
        ]
    if not pool:
        reasons = "; ".join(f"{row['candidate_id']}: {row['qualification_note']}" for row in rows)
        raise SelectionError(f"no candidate produced a usable segmentation ({reasons})")
    best = max(float(row["silhouette"]) for row in pool)
    tolerance = settings.silhouette_tie_tolerance
    tied = [row for row in pool if float(row["silhouette"]) >= best - tolerance]
    tied.sort(key=lambda row: _ranking_key(row, order))
    winner_row = tied[0]
    # Ranks: the tied group in tie-break order, then the rest by silhouette (best first).
    ranked = tied + sorted(
        (row for row in pool if float(row["silhouette"]) < best - tolerance),
        key=lambda row: (-float(row["silhouette"]), _ranking_key(row, order)),
    )
    ranks = {id(row): i + 1 for i, row in enumerate(ranked)}
    pool_text = (
        f"{len(pool)} qualifying candidate(s) (smallest segment >= "
        f"{settings.min_segment_share:.1%}, noise <= {settings.max_noise_share:.1%})"
        if not used_fallback
        else f"{len(pool)} candidate(s) with a silhouette: NONE qualified (fallback: "
        f"smallest segment share and noise limits ignored)"
    )
    reason = (
        f"best silhouette {best:.4f} among {pool_text}; {len(tied)} candidate(s) within "
        f"{tolerance} of it; chosen {winner_row['candidate_id']} "
        f"(silhouette {float(winner_row['silhouette']):.4f}, {winner_row['n_segments']} segments): "
        "fewest segments, then higher silhouette, lower Davies-Bouldin, algorithm order"
    )
    for row in rows:
        row["rank"] = ranks.get(id(row))
        row["is_winner"] = row is winner_row
        if row is winner_row:
            row["selection_reason"] = reason
        elif id(row) not in ranks:
            row["selection_reason"] = f"not considered: {row['qualification_note']}"
        elif float(row["silhouette"]) < best - tolerance:
            row["selection_reason"] = (
                f"silhouette {float(row['silhouette']):.4f} more than {tolerance} below the best "
                f"{best:.4f}"
            )
        else:
            row["selection_reason"] = (
                f"tied on silhouette with the winner; lost on the tie-break "
                f"({row['n_segments']} segments vs {winner_row['n_segments']})"
            )
    winner = Winner(str(winner_row["candidate_id"]), reason, used_fallback)
    return winner, rows


def candidates_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """The candidates table with fixed column order and types."""
    frame = pd.DataFrame(
        [{column: row.get(column) for column in CANDIDATE_COLUMNS} for row in rows]
    )
    if frame.empty:
        frame = pd.DataFrame(columns=list(CANDIDATE_COLUMNS))
    float_columns = (
        "silhouette",
        "davies_bouldin",
        "calinski_harabasz",
        "inertia",
        "bic",
        "smallest_segment_share",
        "noise_share",
        "fit_seconds",
        "score_seconds",
    )
    for column in float_columns:
        frame[column] = frame[column].astype("float64")
    for column in ("n_segments_requested", "fit_sample_size", "rank"):
        frame[column] = frame[column].astype("Int64")
    for column in ("n_segments", "n_customers"):
        frame[column] = frame[column].astype("int64")
    for column in ("is_qualified", "is_winner"):
        frame[column] = frame[column].astype(bool)
    return frame


def best_per_algorithm(
    candidates: pd.DataFrame, settings: SelectionSettings, algorithm_order: tuple[str, ...]
) -> dict[str, str]:
    """The candidate id each algorithm would contribute under the same rule (if any)."""
    best: dict[str, str] = {}
    for algorithm in algorithm_order:
        rows = candidates[candidates["algorithm"] == algorithm].to_dict("records")
        rows = [{key: python_scalar(value) for key, value in row.items()} for row in rows]
        try:
            winner, _ = choose_winner(rows, settings, algorithm_order)
        except SelectionError:
            continue
        best[algorithm] = winner.candidate_id
    return best


def agreement_frame(partitions: dict[str, Partition]) -> pd.DataFrame:
    """Adjusted Rand index between every pair of the given partitions (all customers).

    Noise rows keep the label -1, so two methods agree on them only if both call them noise.
    """
    rows = []
    for (id_a, part_a), (id_b, part_b) in combinations(partitions.items(), 2):
        rows.append(
            {
                "algorithm_a": part_a.spec.algorithm,
                "candidate_id_a": id_a,
                "algorithm_b": part_b.spec.algorithm,
                "candidate_id_b": id_b,
                "adjusted_rand_index": float(adjusted_rand_score(part_a.labels, part_b.labels)),
                "n_customers": int(part_a.labels.size),
            }
        )
    columns = [
        "algorithm_a",
        "candidate_id_a",
        "algorithm_b",
        "candidate_id_b",
        "adjusted_rand_index",
        "n_customers",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    frame["adjusted_rand_index"] = frame["adjusted_rand_index"].astype("float64")
    frame["n_customers"] = frame["n_customers"].astype("int64")
    return frame


def segment_order(labels: np.ndarray, monetary: np.ndarray, n_clusters: int) -> np.ndarray:
    """``order[label]`` = segment id (1-based) for each cluster label.

    Segment 1 has the highest median net revenue (``monetary_amount``) among its members, then
    2, ...; ties go to the larger segment, then the higher mean revenue, then the lower label.
    The algorithm's own label numbering never shows through.
    """
    keys = []
    for label in range(n_clusters):
        members = monetary[labels == label]
        median = float(np.median(members)) if members.size else -np.inf
        mean = float(np.mean(members)) if members.size else -np.inf
        keys.append((-median, -members.size, -mean, label))
    order = np.empty(n_clusters, dtype=np.int64)
    for rank, key in enumerate(sorted(keys), start=1):
        order[key[-1]] = rank
    return order

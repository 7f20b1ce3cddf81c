"""How trustworthy a segmentation is: stability, prediction strength, seeds, per-customer fit.

Every method refits the *winning configuration*
(a :class:`~segmentation.engine.algorithms.CandidateSpec`) with
:func:`segmentation.engine.algorithms.fit_candidate`, the engine's own fitting code, on the
prepared feature matrix. Partitions are compared as deployed, by one of :data:`ASSIGNMENT_RULES`:
``fitted`` (the fitted algorithm's own labels, noise at its nearest representative:
:func:`~segmentation.engine.algorithms.deployed_labels`) or ``nearest_representative`` (every
customer at the nearest representative, as a kept model scored in SQL assigns them).

- :class:`BootstrapStability` — Hennig's clusterboot (2007): refit on bootstrap resamples
  (drawn with replacement) and, for every original segment, take the Jaccard similarity of its
  best-matching refitted cluster, both restricted to the distinct customers of the resample.
  The mean over resamples is the segment's stability: >= 0.85 highly stable, >= 0.75 stable,
  0.6-0.75 a pattern whose exact members are doubtful, <= 0.5 dissolved.
- :class:`PredictionStrength` — Tibshirani & Walther (2005), a cross-validation of k: split the
  customers in two random halves, cluster both into k groups, label the test half with the
  model fitted on the training half, and for every test cluster measure the share of its pairs
  of customers that the training model also puts together; the strength is the worst cluster's
  share, averaged over splits. The largest k with strength >= 0.8 is the supported k.
- :class:`SeedAgreement` — the winner refitted with other seeds; adjusted Rand index between
  every two runs and with the kept partition.
- :func:`customer_fit` — per customer: distance to its representative and to the nearest other
  one, the assignment margin (the simplified silhouette) and the silhouette.
- :func:`external_agreement` — adjusted Rand index and normalised mutual information against
  known classes (the demo data's planted archetypes).

Cost: the three refitting methods work on seeded samples whose sizes are settings, so their cost
does not grow with the number of customers. Only :func:`customer_fit` touches every customer,
in chunks: O(n * k) for the distances and O(n * m * d) for the silhouette against a reference
sample of m customers (``python -m segmentation.benchmark.evaluation`` measures it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from sklearn.metrics import (
    adjusted_rand_score,
    normalized_mutual_info_score,
)
from threadpoolctl import threadpool_limits

from segmentation.engine.algorithms import (
    FIT_THREADS,
    NOISE,
    CandidateSpec,
    Partition,
    deployed_labels,
    fit_candidate,
    map_fits,
    nearest_representative,
    seeded_sample,
)

# clusterboot's defaults: a segment "dissolved" in a resample when its best Jaccard is at most
# this, and was "recovered" when it is at least RECOVERED_JACCARD.
DISSOLVED_JACCARD = 0.5
RECOVERED_JACCARD = 0.75
# (lower bound, class) from the most stable down: Hennig's reading of mean Jaccard values; below
# 0.6 a segment is "unstable", at most 0.5 "dissolved".
STABILITY_CLASSES: tuple[tuple[float, str], ...] = (
    (0.85, "highly stable"),
    (0.75, "stable"),
    (0.6, "pattern"),
)
DISSOLVED_CLASS = "dissolved"
# Refits run on bounded samples, one thread each (see algorithms.FIT_THREADS).
REFIT_THREADS = FIT_THREADS
# Rows per block when a computation touches every customer (bounds memory: rows x reference).
CHUNK_ROWS = 4096
# Rows per block of the silhouette against a reference sample: small enough that one block's
# distances (rows x reference) stay in cache between the steps that read them (measured at
# 100,000 x 3,000: 4,096-row blocks through scikit-learn's pairwise_distances 2.1-4.6 s,
# 512-row blocks here 1.2-1.3 s, same values to 1e-15).
SILHOUETTE_CHUNK_ROWS = 512


ASSIGNMENT_RULES: tuple[str, ...] = ("fitted", "nearest_representative")


class EvaluationError(ValueError):
    """The evaluation cannot run on this input; the message names the cause."""


def partition_labels(partition: Partition, matrix: np.ndarray, rule: str = "fitted") -> np.ndarray:
    """The labels of ``partition`` on the rows of ``matrix`` as deployed under ``rule``."""
    if rule == "fitted":
        return deployed_labels(partition, matrix)
    if rule == "nearest_representative":
        return nearest_representative(matrix, partition.representatives)[0]
    raise EvaluationError(f"unknown assignment rule {rule!r}; expected one of {ASSIGNMENT_RULES}")


def runnable(spec: CandidateSpec) -> CandidateSpec:
    """The spec without its skip reason (it was skipped for a size that no longer applies)."""
    return replace(spec, skip_reason=None)


def with_clusters(spec: CandidateSpec, k: int) -> CandidateSpec:
    """The same configuration asking for ``k`` clusters."""
    if spec.requested_clusters is None:
        raise EvaluationError(f"{spec.candidate_id} does not take a number of clusters")
    params = tuple((name, k if name == "n_clusters" else value) for name, value in spec.params)
    return replace(spec, params=params, skip_reason=None)


def stability_class(mean_jaccard: float | None) -> str | None:
    """Hennig's reading of a mean Jaccard similarity (None when there is no value)."""
    if mean_jaccard is None or not np.isfinite(mean_jaccard):
        return None
    for lower, name in STABILITY_CLASSES:
        if mean_jaccard >= lower:
            return name
    return "unstable" if mean_jaccard > DISSOLVED_JACCARD else DISSOLVED_CLASS


def best_jaccard(reference: np.ndarray, labels: np.ndarray, n_reference: int) -> np.ndarray:
    """For each reference cluster ``0..n_reference-1``, the best Jaccard similarity to a cluster
    of ``labels`` (both over the same customers); NaN for a cluster with no customer here."""
    reference = np.asarray(reference, dtype=np.int64)
    _, found = np.unique(np.asarray(labels), return_inverse=True)
    table = np.zeros((n_reference, int(found.max()) + 1 if found.size else 1))
    np.add.at(table, (reference, found), 1.0)
    ref_sizes = table.sum(axis=1)
    union = ref_sizes[:, None] + table.sum(axis=0)[None, :] - table
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(union > 0, table / union, 0.0)
    best = jaccard.max(axis=1)
    best[ref_sizes == 0] = np.nan
    return best


class BootstrapStability:
    """Clusterboot stability of every segment of a partition (see the module docstring).

    Parameters
    ----------
    spec: the winning configuration, refitted on each resample.
    n_resamples: number of bootstrap resamples (B).
    random_state: seed of the resamples and of each refit.
    assignment_rule: how a refit labels customers (see :data:`ASSIGNMENT_RULES`).

    Fitted attributes
    -----------------
    jaccard_ : (n_resamples, n_segments) best Jaccard per resample and segment (NaN when the
        segment had no customer in the resample).
    segment_stability_ : mean Jaccard per segment over the resamples.
    mean_stability_ : mean of ``segment_stability_`` (clusterboot's overall figure).
    dissolved_counts_, recovered_counts_ : resamples with Jaccard <= 0.5, >= 0.75, per segment.
    clusters_found_ : number of clusters of each refit (0 when it failed).
    failed_resamples_ : refits that did not produce a partition (they count as dissolved).
    """

    def __init__(
        self,
        spec: CandidateSpec,
        n_resamples: int = 20,
        random_state: int = 0,
        assignment_rule: str = "fitted",
    ) -> None:
        self.spec = spec
        self.n_resamples = n_resamples
        self.random_state = random_state
        self.assignment_rule = assignment_rule

    def fit(self, matrix: np.ndarray, labels: np.ndarray) -> BootstrapStability:
        """Resample the rows of ``matrix`` (whose partition is ``labels``, 0-based) B times."""
        labels = np.asarray(labels, dtype=np.int64)
        n_rows, n_segments = matrix.shape[0], int(labels.max()) + 1
        if n_rows != labels.size:
            raise EvaluationError(f"{n_rows} rows but {labels.size} labels")
        rng = np.random.default_rng(self.random_state)
        spec = runnable(self.spec)
        draws = []  # (rows, seed) of each resample, drawn in order so the seed fixes them all
        for _ in range(self.n_resamples):
            index = rng.integers(0, n_rows, size=n_rows)
            draws.append((index, int(rng.integers(0, 2**31 - 1))))

        def refit(draw: tuple[np.ndarray, int]) -> tuple[int | None, np.ndarray]:
            """The refit's number of clusters (None when it failed) and best Jaccards."""
            index, seed = draw
            distinct, first = np.unique(index, return_index=True)
            partition = fit_candidate(spec, matrix[index], seed)
            if partition.status != "ok":  # a failed refit dissolves every segment it held
                present = np.bincount(labels[distinct], minlength=n_segments) > 0
                return None, np.where(present, 0.0, np.nan)
            assigned = partition_labels(partition, matrix[index], self.assignment_rule)
            jaccard = best_jaccard(labels[distinct], assigned[first], n_segments)
            return partition.n_clusters, jaccard

        refits = map_fits(refit, draws)
        clusters = [found for found, _ in refits]
        found = np.array([count or 0 for count in clusters], dtype=np.int64)
        jaccard = np.array([row for _, row in refits], dtype=float).reshape(-1, n_segments)
        failed = clusters.count(None)
        self.jaccard_ = jaccard
        with np.errstate(invalid="ignore"):
            self.segment_stability_ = _nanmean(jaccard)
        self.mean_stability_ = float(np.nanmean(self.segment_stability_))
        self.dissolved_counts_ = np.sum(jaccard <= DISSOLVED_JACCARD, axis=0)
        self.recovered_counts_ = np.sum(jaccard >= RECOVERED_JACCARD, axis=0)
        self.clusters_found_ = found
        self.failed_resamples_ = failed
        return self


def pair_agreement(clusters: np.ndarray, predicted: np.ndarray) -> float:
    """Prediction strength of one split: over the clusters of ``clusters`` with at least two
    members, the smallest share of member pairs that ``predicted`` also puts together."""
    shares = []
    for cluster in np.unique(clusters):
        members = predicted[clusters == cluster]
        n = members.size
        if n < 2:
            continue
        _, counts = np.unique(members, return_counts=True)
        shares.append(float(np.sum(counts * (counts - 1.0)) / (n * (n - 1.0))))
    return min(shares) if shares else float("nan")


class PredictionStrength:
    """Prediction strength of every k (Tibshirani & Walther 2005; see the module docstring).

    Parameters
    ----------
    spec_for_k: the configuration asking for k clusters (e.g. ``partial(with_clusters, spec)``).
    ks: the numbers of clusters to assess.
    n_splits: random halvings averaged.
    threshold: a k is supported when its mean strength is at least this (0.8 in the paper).
    random_state: seed of the splits and fits.
    assignment_rule: how a fitted model labels customers (see :data:`ASSIGNMENT_RULES`); the
        training half's model labels the test half by the same rule.

    Fitted attributes
    -----------------
    strength_ : (n_splits, len(ks)) strength per split and k (NaN when k cannot be fitted).
    mean_, std_, min_ : per k over the splits.
    supported_k_ : the largest supported k, or None.
    """

    def __init__(
        self,
        spec_for_k: Callable[[int], CandidateSpec],
        ks: Sequence[int],
        n_splits: int = 5,
        threshold: float = 0.8,
        random_state: int = 0,
        assignment_rule: str = "fitted",
    ) -> None:
        self.spec_for_k = spec_for_k
        self.ks = tuple(ks)
        self.n_splits = n_splits
        self.threshold = threshold
        self.random_state = random_state
        self.assignment_rule = assignment_rule

    def fit(self, matrix: np.ndarray) -> PredictionStrength:
        """Split the rows of ``matrix`` ``n_splits`` times and score every k."""
        n_rows = matrix.shape[0]
        n_train = n_rows // 2
        rng = np.random.default_rng(self.random_state)
        strength = np.full((self.n_splits, len(self.ks)), np.nan)
        with threadpool_limits(limits=REFIT_THREADS):
            for split in range(self.n_splits):
                seed = int(rng.integers(0, 2**31 - 1))
                strength[split] = self._split_strengths(matrix, n_train, seed)
        self.strength_ = strength
        with np.errstate(invalid="ignore"):
            self.mean_ = _nanmean(strength)
            self.std_ = np.array(
                [np.nanstd(col) if np.isfinite(col).any() else np.nan for col in strength.T]
            )
            self.min_ = np.array(
                [np.nanmin(col) if np.isfinite(col).any() else np.nan for col in strength.T]
            )
        supported = [
            k
            for k, m in zip(self.ks, self.mean_, strict=True)
            if np.isfinite(m) and m >= self.threshold
        ]
        self.supported_k_ = max(supported) if supported else None
        return self

    def _split_strengths(self, matrix: np.ndarray, n_train: int, seed: int) -> np.ndarray:
        """Strength of every k on one random halving (NaN where k cannot be fitted)."""
        n_rows = matrix.shape[0]
        # fit_candidate fits on seeded_sample(n_rows, fit_sample_size, seed) and labels every
        # row: with fit_sample_size = n_train that sample *is* the training half.
        train = seeded_sample(n_rows, n_train, seed)
        test = np.setdiff1d(np.arange(n_rows), train, assume_unique=True)
        values = np.full(len(self.ks), np.nan)
        for j, k in enumerate(self.ks):
            if k + 1 > min(n_train, test.size):
                continue
            spec = self.spec_for_k(k)
            trained = fit_candidate(replace(spec, fit_sample_size=n_train), matrix, seed)
            tested = fit_candidate(spec, matrix[test], seed)
            if trained.status != "ok" or tested.status != "ok":
                continue
            if not np.array_equal(trained.fit_index, train):
                raise EvaluationError("the training fit did not use the training half")
            rule = self.assignment_rule
            if rule == "fitted":  # the training model's own labels of the test rows
                predicted = deployed_labels(trained, matrix)[test]
            else:
                predicted = partition_labels(trained, matrix[test], rule)
            values[j] = pair_agreement(partition_labels(tested, matrix[test], rule), predicted)
        return values


class SeedAgreement:
    """The winner refitted with each seed; adjusted Rand index between the runs.

    Fitted attributes
    -----------------
    labels_ : list of the deployed labels of each seed's run (None when it failed).
    n_clusters_ : clusters found per seed (0 when the fit failed).
    noise_shares_ : per seed, the share of rows the fitted algorithm called noise (density
        methods; 0 for the others, NaN when the fit failed).
    ari_vs_reference_ : per seed, ARI with the reference partition (the kept model).
    pairwise_ari_ : (n_seeds, n_seeds) ARI between runs (NaN where a run failed).
    mean_pairwise_ari_, min_pairwise_ari_ : over the pairs of different seeds.
    """

    def __init__(
        self, spec: CandidateSpec, seeds: Sequence[int], assignment_rule: str = "fitted"
    ) -> None:
        self.spec = spec
        self.seeds = tuple(seeds)
        self.assignment_rule = assignment_rule

    def fit(self, matrix: np.ndarray, reference: np.ndarray) -> SeedAgreement:
        """Refit on ``matrix`` with every seed and compare with ``reference`` and each other."""
        spec = runnable(self.spec)
        runs: list[np.ndarray | None] = []
        noise: list[float] = []
        with threadpool_limits(limits=REFIT_THREADS):
            for seed in self.seeds:
                partition = fit_candidate(spec, matrix, seed)
                ok = partition.status == "ok"
                runs.append(
                    partition_labels(partition, matrix, self.assignment_rule) if ok else None
                )
                noise.append(float(np.mean(partition.labels == NOISE)) if ok else np.nan)
        self.labels_ = runs
        self.noise_shares_ = np.array(noise)
        self.n_clusters_ = np.array([0 if r is None else np.unique(r).size for r in runs])
        self.ari_vs_reference_ = np.array(
            [np.nan if r is None else adjusted_rand_score(reference, r) for r in runs]
        )
        n = len(runs)
        pairwise = np.full((n, n), np.nan)
        for i in range(n):
            for j in range(n):
                if runs[i] is not None and runs[j] is not None:
                    pairwise[i, j] = 1.0 if i == j else adjusted_rand_score(runs[i], runs[j])
        self.pairwise_ari_ = pairwise
        off = pairwise[~np.eye(n, dtype=bool)]
        off = off[np.isfinite(off)]
        self.mean_pairwise_ari_ = float(off.mean()) if off.size else None
        self.min_pairwise_ari_ = float(off.min()) if off.size else None
        return self


@dataclass
class CustomerFit:
    """Per-customer fit of a partition (arrays in row order)."""

    distance: np.ndarray  # to the customer's own representative
    second_label: np.ndarray  # nearest other representative (-1 when there is one segment)
    second_distance: np.ndarray  # NaN when there is one segment
    margin: np.ndarray  # (second - own) / max(own, second), in [-1, 1]
    silhouette: np.ndarray  # NaN when undefined
    in_reference: np.ndarray  # True for customers of the silhouette reference sample


def representative_distances(matrix: np.ndarray, representatives: np.ndarray) -> np.ndarray:
    """Euclidean distance of every row to every representative (rows x segments), in chunks."""
    out = np.empty((matrix.shape[0], representatives.shape[0]))
    for start in range(0, matrix.shape[0], CHUNK_ROWS):
        block = slice(start, start + CHUNK_ROWS)
        diffs = matrix[block, None, :] - representatives[None, :, :]
        out[block] = np.sqrt(np.einsum("ijk,ijk->ij", diffs, diffs))
    return out


def euclidean_block(
    block: np.ndarray,
    minus_twice_reference_t: np.ndarray,
    reference_sq: np.ndarray,
    out: np.ndarray,
) -> np.ndarray:
    """Euclidean distances of ``block`` rows to the reference rows, as |x|^2 + |r|^2 - 2 x.r
    clipped at 0 (the form scikit-learn uses), written into the first ``len(block)`` rows of
    ``out``. ``minus_twice_reference_t`` is -2 times the transposed reference rows and
    ``reference_sq`` their squared norms, both computed once per reference; every step works
    in place (a third faster than building the terms as new arrays)."""
    distances = out[: block.shape[0]]
    np.matmul(block, minus_twice_reference_t, out=distances)
    distances += reference_sq[None, :]
    distances += np.einsum("ij,ij->i", block, block)[:, None]
    np.maximum(distances, 0.0, out=distances)
    return np.sqrt(distances, out=distances)


def reference_silhouette(
    matrix: np.ndarray, labels: np.ndarray, reference_index: np.ndarray
) -> np.ndarray:
    """Silhouette of every row, measured against the rows in ``reference_index``.

    For customer i in segment A: a = mean distance to the reference customers of A (i itself
    left out), b = the smallest mean distance to the reference customers of another segment,
    s = (b - a) / max(a, b). When the reference sample holds every row this is the exact
    silhouette (scikit-learn's ``silhouette_samples``); for a row of the sample it equals the
    silhouette within the sample (whose mean is the selection's sampled silhouette); for any
    other row a and b are unbiased estimates of the exact means. A reference customer alone in
    its segment gets 0 (the usual convention); a row whose segment has no reference customer,
    or with a single segment in the sample, gets NaN. Cost O(rows x reference x features).
    """
    labels = np.asarray(labels, dtype=np.int64)
    reference_index = np.asarray(reference_index, dtype=np.int64)
    n_rows = matrix.shape[0]
    n_segments = int(labels.max()) + 1
    reference = matrix[reference_index]
    onehot = np.zeros((reference_index.size, n_segments))
    onehot[np.arange(reference_index.size), labels[reference_index]] = 1.0
    counts = onehot.sum(axis=0)
    position = np.full(n_rows, -1, dtype=np.int64)
    position[reference_index] = np.arange(reference_index.size)
    silhouette = np.full(n_rows, np.nan)
    reference_sq = np.einsum("ij,ij->i", reference, reference)
    minus_twice_reference_t = np.ascontiguousarray(-2.0 * reference.T)
    buffer = np.empty((min(SILHOUETTE_CHUNK_ROWS, n_rows), reference_index.size))
    for start in range(0, n_rows, SILHOUETTE_CHUNK_ROWS):
        rows = np.arange(start, min(start + SILHOUETTE_CHUNK_ROWS, n_rows))
        distances = euclidean_block(matrix[rows], minus_twice_reference_t, reference_sq, buffer)
        own_position = position[rows]
        inside = own_position >= 0
        distances[np.nonzero(inside)[0], own_position[inside]] = 0.0  # exact self-distance
        sums = distances @ onehot
        own = labels[rows]
        local = np.arange(rows.size)
        own_count = counts[own] - inside
        with np.errstate(invalid="ignore", divide="ignore"):
            a = sums[local, own] / own_count
            other = np.where(counts > 0, sums / counts, np.inf)
        other[local, own] = np.inf
        b = other.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = (b - a) / np.maximum(a, b)
        value[(a == 0) & (b == 0)] = 0.0
        value[~np.isfinite(b)] = np.nan
        value[own_count == 0] = np.where(inside[own_count == 0], 0.0, np.nan)
        silhouette[rows] = value
    return silhouette


def customer_fit(
    matrix: np.ndarray,
    labels: np.ndarray,
    representatives: np.ndarray,
    reference_index: np.ndarray,
) -> CustomerFit:
    """Distances, margin and silhouette of every row (labels 0-based, representatives by label).

    The margin is (d2 - d1) / max(d1, d2) with d1 the distance to the own representative and d2
    to the nearest other one: the *simplified silhouette* (representatives instead of all
    members), 1 on the own representative, 0 half-way, negative when another representative is
    closer (possible for Gaussian mixtures, which assign by likelihood). O(rows x segments).
    """
    labels = np.asarray(labels, dtype=np.int64)
    distances = representative_distances(matrix, representatives)
    rows = np.arange(matrix.shape[0])
    own = distances[rows, labels]
    if representatives.shape[0] > 1:
        others = distances.copy()
        others[rows, labels] = np.inf
        second = others.argmin(axis=1)
        second_distance = others[rows, second]
        with np.errstate(invalid="ignore", divide="ignore"):
            margin = (second_distance - own) / np.maximum(own, second_distance)
        margin[(own == 0) & (second_distance == 0)] = 0.0
    else:
        second = np.full(rows.size, -1)
        second_distance = np.full(rows.size, np.nan)
        margin = np.full(rows.size, np.nan)
    in_reference = np.zeros(rows.size, dtype=bool)
    in_reference[reference_index] = True
    with threadpool_limits(limits=REFIT_THREADS):
        silhouette = reference_silhouette(matrix, labels, reference_index)
    return CustomerFit(
        distance=own,
        second_label=second.astype(np.int64),
        second_distance=second_distance,
        margin=margin,
        silhouette=silhouette,
        in_reference=in_reference,
    )


@dataclass(frozen=True)
class ExternalAgreement:
    """Agreement of a partition with known classes (None values when no truth is known)."""

    is_available: bool
    n_customers: int
    n_classes: int
    adjusted_rand_index: float | None
    normalized_mutual_info: float | None


def external_agreement(labels: Sequence, truth: Sequence) -> ExternalAgreement:
    """ARI and NMI (arithmetic normalisation) of ``labels`` against ``truth`` (same rows)."""
    labels, truth = np.asarray(labels), np.asarray(truth)
    if labels.size != truth.size:
        raise EvaluationError(f"{labels.size} labels but {truth.size} truth values")
    if truth.size == 0:
        return ExternalAgreement(False, 0, 0, None, None)
    return ExternalAgreement(
        True,
        int(truth.size),
        int(np.unique(truth).size),
        float(adjusted_rand_score(truth, labels)),
        float(normalized_mutual_info_score(truth, labels)),
    )


def _nanmean(values: np.ndarray) -> np.ndarray:
    """Column means ignoring NaN (NaN for an all-NaN column, without a warning)."""
    finite = np.isfinite(values)
    counts = finite.sum(axis=0)
    sums = np.where(finite, values, 0.0).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)

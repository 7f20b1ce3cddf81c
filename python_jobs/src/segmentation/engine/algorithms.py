"""Candidate clustering algorithms, all run on the same prepared matrix.

Every candidate (algorithm x parameters) yields a :class:`Partition`: one label per customer
(``-1`` = noise, density methods only), one representative per cluster (centroid or mean of its
members, in prepared units), and which rows the algorithm saw.

Scale: K-Means fits on every row unless ``fit_sample_size`` is set. Gaussian mixtures, the
quadratic methods (agglomerative, DBSCAN, HDBSCAN) fit on a seeded sample of at most
``fit_sample_size`` rows (the same sample for every method, drawn with ``random_state``);
K-Means and Gaussian mixtures then label every row with their own ``predict``, the other
methods label the rows outside the sample by their nearest representative (Euclidean, in
prepared units). Noise stays ``-1`` only for sampled rows that the density method called noise.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from joblib import Memory
from sklearn.cluster import DBSCAN, HDBSCAN, AgglomerativeClustering, KMeans
from sklearn.metrics import pairwise_distances_argmin_min
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from segmentation.config.segmentation import SegmentationSettings

NOISE = -1
# BLAS/OpenMP threads of model fits and distance blocks. One: the fits run on bounded samples,
# where thread start-up and spin-waiting cost more than a second core saves, and dbt builds two
# Python models at a time (threads: 2), which would otherwise oversubscribe the cores (measured
# on this 2-core machine: K-Means with 7 centres and 10 runs on 20,000 customers 0.15 s on one
# thread, 0.44-0.50 s on two; 9 fits on 600 rows 0.35 s and 7.3 s while the machine was busy).
FIT_THREADS = 1


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# Fits that map_fits runs at once, each on FIT_THREADS threads: the model search's candidates
# (the only node of a build running then, as everything after it waits for the model) and
# bootstrap refits.
FIT_WORKERS = max(1, min(4, _usable_cores()))

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_fits(function: Callable[[Item], Result], items: Iterable[Item]) -> list[Result]:
    """``function`` applied to every item, :data:`FIT_WORKERS` at a time, results in the
    order of ``items``.

    Each call runs under ``threadpool_limits(FIT_THREADS)`` entered in its own worker thread:
    OpenMP's thread count is a per-thread setting, so a limit set only by the caller would
    leave the workers' K-Means on every core, oversubscribed and with sums in another order.
    Set per worker, every result equals the one-at-a-time result bit for bit (each fit draws
    from its own seed); the fits release the GIL in their compiled loops.
    """

    def limited(item: Item) -> Result:
        with threadpool_limits(limits=FIT_THREADS):
            return function(item)

    items = list(items)
    if FIT_WORKERS == 1 or len(items) < 2:
        return [limited(item) for item in items]
    with ThreadPoolExecutor(max_workers=FIT_WORKERS, thread_name_prefix="fit") as pool:
        return list(pool.map(limited, items))


@dataclass(frozen=True)
class CandidateSpec:
    """One algorithm with one parameter set (``params`` is sorted ``(name, value)`` pairs)."""

    algorithm: str
    params: tuple[tuple[str, object], ...]
    fit_sample_size: int | None = None
    skip_reason: str | None = None

    @property
    def candidate_id(self) -> str:
        """A stable, readable id, e.g. ``kmeans__n_clusters=4``."""
        parts = [f"{name}={value}" for name, value in self.params if name not in _ID_HIDDEN]
        return "__".join([self.algorithm, *parts])

    @property
    def param_dict(self) -> dict[str, object]:
        return dict(self.params)

    @property
    def requested_clusters(self) -> int | None:
        value = self.param_dict.get("n_clusters")
        return int(value) if value is not None else None


# Parameters that are the same for every candidate of an algorithm: kept out of the id.
_ID_HIDDEN = {"n_init", "covariance_type", "reg_covar"}


@dataclass
class Partition:
    """The outcome of fitting one candidate on the prepared matrix."""

    spec: CandidateSpec
    status: str  # "ok", "skipped" or "failed"
    message: str | None = None
    labels: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    representatives: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    fit_index: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    fitted_on_all_rows: bool = True
    predicts_natively: bool = True
    fitted_params: dict[str, object] = field(default_factory=dict)
    bic: float | None = None
    fit_seconds: float = 0.0

    @property
    def n_clusters(self) -> int:
        return int(self.representatives.shape[0]) if self.status == "ok" else 0


def candidate_grid(settings: SegmentationSettings, n_rows: int) -> list[CandidateSpec]:
    """Every candidate the settings ask for, in a fixed order.

    Candidates that cannot run on ``n_rows`` customers (k clusters need at least k + 1
    customers for a silhouette; density parameters larger than the sample) carry a
    ``skip_reason`` instead of being dropped, so the candidates table shows them.
    """
    specs: list[CandidateSpec] = []
    for algorithm in settings.algorithms:
        if algorithm == "kmeans":
            cfg = settings.kmeans
            for k in range(cfg.k_min, cfg.k_max + 1):
                params = (("n_clusters", k), ("n_init", cfg.n_init))
                specs.append(_k_spec(algorithm, params, k, n_rows, cfg.fit_sample_size))
        elif algorithm == "gaussian_mixture":
            cfg = settings.gaussian_mixture
            for k in range(cfg.k_min, cfg.k_max + 1):
                params = (
                    ("covariance_type", cfg.covariance_type),
                    ("n_clusters", k),
                    ("n_init", cfg.n_init),
                    ("reg_covar", cfg.reg_covar),
                )
                specs.append(_k_spec(algorithm, params, k, n_rows, cfg.fit_sample_size))
        elif algorithm == "agglomerative":
            cfg = settings.agglomerative
            for linkage in cfg.linkages:
                for k in range(cfg.k_min, cfg.k_max + 1):
                    params = (("linkage", linkage), ("n_clusters", k))
                    specs.append(_k_spec(algorithm, params, k, n_rows, cfg.fit_sample_size))
        elif algorithm == "dbscan":
            cfg = settings.dbscan
            for min_samples in cfg.min_samples:
                params = (("eps", cfg.eps if cfg.eps is not None else "auto"),)
                params = (*params, ("min_samples", min_samples))
                specs.append(
                    _density_spec(algorithm, params, min_samples, n_rows, cfg.fit_sample_size)
                )
        elif algorithm == "hdbscan":
            cfg = settings.hdbscan
            for size in cfg.min_cluster_size:
                params = (("min_cluster_size", size), ("min_samples", cfg.min_samples))
                needed = max(size, cfg.min_samples or 0)
                specs.append(_density_spec(algorithm, params, needed, n_rows, cfg.fit_sample_size))
    return specs


def _k_spec(
    algorithm: str, params: tuple, k: int, n_rows: int, sample: int | None
) -> CandidateSpec:
    rows_seen = n_rows if sample is None else min(sample, n_rows)
    skip = None
    if k + 1 > n_rows:
        skip = f"{k} segments need at least {k + 1} customers; there are {n_rows}"
    elif k > rows_seen:
        skip = f"{k} segments cannot be fitted on a sample of {rows_seen} customers"
    return CandidateSpec(algorithm, params, sample, skip)


def _density_spec(
    algorithm: str, params: tuple, needed: int, n_rows: int, sample: int | None
) -> CandidateSpec:
    rows_seen = n_rows if sample is None else min(sample, n_rows)
    skip = None
    if needed > rows_seen:
        skip = f"parameters need at least {needed} customers in the fit sample; it has {rows_seen}"
    return CandidateSpec(algorithm, params, sample, skip)


def seeded_sample(n_rows: int, size: int | None, random_state: int) -> np.ndarray:
    """Sorted row indices of a seeded sample without replacement (all rows if it fits)."""
    if size is None or size >= n_rows:
        return np.arange(n_rows)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n_rows, size=size, replace=False))


def stage_seed(random_state: int, stage: int) -> int:
    """A seed per stage derived from the evaluation seed (stages draw independent samples)."""
    return int(np.random.SeedSequence([random_state, stage]).generate_state(1)[0] % (2**31 - 1))


def nearest_representative(
    matrix: np.ndarray, representatives: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest representative of each row and the Euclidean distance to it.

    Computed in chunks (scikit-learn's working memory), so it is linear in rows.
    """
    if matrix.shape[0] == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    index, distance = pairwise_distances_argmin_min(matrix, representatives)
    return index.astype(np.int64), distance


def deployed_labels(partition: Partition, matrix: np.ndarray) -> np.ndarray:
    """The partition's labels with noise rows given to their nearest representative."""
    labels = partition.labels.copy()
    noise = labels == NOISE
    if noise.any():
        nearest, _ = nearest_representative(matrix[noise], partition.representatives)
        labels[noise] = nearest
    return labels


def kdistance_eps(matrix: np.ndarray, min_samples: int) -> float:
    """DBSCAN radius at the knee of the sorted k-distance curve (k = ``min_samples``).

    The distance of every point to its ``min_samples``-th nearest neighbour (itself included,
    as DBSCAN counts it) is sorted; with both axes scaled to [0, 1] the knee is the point
    farthest below the chord from the first to the last value. Deterministic.
    """
    k = min(min_samples, matrix.shape[0])
    distances, _ = NearestNeighbors(n_neighbors=k).fit(matrix).kneighbors(matrix)
    curve = np.sort(distances[:, -1])
    low, high = float(curve[0]), float(curve[-1])
    if high - low <= 0.0:
        return high if high > 0.0 else 1e-9
    x = np.linspace(0.0, 1.0, curve.size)
    y = (curve - low) / (high - low)
    eps = float(curve[int(np.argmax(x - y))])
    positive = curve[curve > 0.0]
    return eps if eps > 0.0 else float(positive[0])


def fit_candidate(spec: CandidateSpec, matrix: np.ndarray, random_state: int) -> Partition:
    """Fit one candidate; a skipped spec or a numerical failure is returned, not raised."""
    if spec.skip_reason is not None:
        return Partition(spec, "skipped", spec.skip_reason)
    started = time.perf_counter()
    fit_index = seeded_sample(matrix.shape[0], spec.fit_sample_size, random_state)
    sample = matrix[fit_index]
    try:
        if spec.algorithm == "kmeans":
            partition = _fit_kmeans(spec, matrix, sample, random_state)
        elif spec.algorithm == "gaussian_mixture":
            partition = _fit_gaussian_mixture(spec, matrix, sample, random_state)
        else:
            partition = _fit_sampled(spec, matrix, sample, fit_index)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as error:
        return Partition(spec, "failed", f"{spec.algorithm} failed: {error}")
    partition.fit_index = fit_index
    partition.fitted_on_all_rows = fit_index.size == matrix.shape[0]
    partition = _compact(partition)
    partition.fit_seconds = time.perf_counter() - started
    return partition


def _fit_kmeans(
    spec: CandidateSpec, matrix: np.ndarray, sample: np.ndarray, random_state: int
) -> Partition:
    params = spec.param_dict
    model = KMeans(
        n_clusters=int(params["n_clusters"]),
        init="k-means++",
        n_init=int(params["n_init"]),
        random_state=random_state,
    ).fit(sample)
    labels = model.predict(matrix) if sample.shape[0] != matrix.shape[0] else model.labels_
    fitted = {"n_iter": int(model.n_iter_)}
    return Partition(
        spec, "ok", None, labels.astype(np.int64), model.cluster_centers_, fitted_params=fitted
    )


def _fit_gaussian_mixture(
    spec: CandidateSpec, matrix: np.ndarray, sample: np.ndarray, random_state: int
) -> Partition:
    params = spec.param_dict
    model = GaussianMixture(
        n_components=int(params["n_clusters"]),
        covariance_type=str(params["covariance_type"]),
        n_init=int(params["n_init"]),
        reg_covar=float(params["reg_covar"]),
        random_state=random_state,
    ).fit(sample)
    labels = model.predict(matrix).astype(np.int64)
    fitted = {"converged": bool(model.converged_), "n_iter": int(model.n_iter_)}
    partition = Partition(spec, "ok", None, labels, model.means_, fitted_params=fitted)
    partition.bic = float(model.bic(sample))
    return partition


_TREE_CACHE: list[Memory] = []


def _tree_cache() -> Memory:
    """A per-process cache of agglomerative merge trees, keyed by the sample and the linkage
    (scikit-learn's ``memory``): the k = 2..8 candidates of a linkage then share one tree
    instead of each building it (O(n^2) on the fit sample). Removed when the process exits."""
    if not _TREE_CACHE:
        folder = tempfile.mkdtemp(prefix="segmentation-trees-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _TREE_CACHE.append(Memory(folder, verbose=0))
    return _TREE_CACHE[0]


def _fit_sampled(
    spec: CandidateSpec, matrix: np.ndarray, sample: np.ndarray, fit_index: np.ndarray
) -> Partition:
    params = spec.param_dict
    fitted: dict[str, object] = {}
    if spec.algorithm == "agglomerative":
        # every k of a linkage cuts the same merge tree: it is computed once and cached
        model = AgglomerativeClustering(
            n_clusters=int(params["n_clusters"]),
            linkage=str(params["linkage"]),
            memory=_tree_cache(),
            compute_full_tree=True,
        )
    elif spec.algorithm == "dbscan":
        min_samples = int(params["min_samples"])
        eps = params["eps"]
        eps = kdistance_eps(sample, min_samples) if eps == "auto" else float(eps)
        fitted["eps"] = eps
        model = DBSCAN(eps=eps, min_samples=min_samples)
    elif spec.algorithm == "hdbscan":
        model = HDBSCAN(
            min_cluster_size=int(params["min_cluster_size"]),
            min_samples=params["min_samples"],
            copy=True,
        )
    else:
        raise ValueError(f"unknown algorithm {spec.algorithm!r}")
    sample_labels = model.fit_predict(sample).astype(np.int64)
    clusters = np.unique(sample_labels[sample_labels != NOISE])
    if clusters.size == 0:
        noun = "DBSCAN" if spec.algorithm == "dbscan" else spec.algorithm
        detail = f" (eps={fitted['eps']:.4g})" if "eps" in fitted else ""
        return Partition(
            spec,
            "failed",
            f"{noun} labelled every sampled customer as noise{detail}: no segment found",
            fitted_params=fitted,
        )
    representatives = np.vstack([sample[sample_labels == c].mean(axis=0) for c in clusters])
    relabel = {int(c): i for i, c in enumerate(clusters)}
    sample_labels = np.array([relabel.get(int(v), NOISE) for v in sample_labels], dtype=np.int64)
    labels, _ = nearest_representative(matrix, representatives)
    labels[fit_index] = sample_labels
    return Partition(
        spec, "ok", None, labels, representatives, predicts_natively=False, fitted_params=fitted
    )


def _compact(partition: Partition) -> Partition:
    """Drop representatives no row is labelled with (e.g. an empty mixture component)."""
    if partition.status != "ok":
        return partition
    present = np.unique(partition.labels[partition.labels != NOISE])
    if present.size == partition.representatives.shape[0]:
        return partition
    mapping = np.full(partition.representatives.shape[0], NOISE, dtype=np.int64)
    mapping[present] = np.arange(present.size)
    labels = partition.labels.copy()
    clustered = labels != NOISE
    labels[clustered] = mapping[labels[clustered]]
    partition.labels = labels
    partition.representatives = partition.representatives[present]
    partition.fitted_params["empty_clusters_dropped"] = int(mapping.size - present.size)
    return partition

"""Time and peak memory of the whole model selection on many synthetic customers.

Usage (not a test; a 1,000,000-customer run takes minutes on 2 cores)::

    python -m segmentation.benchmark.selection --customers 1000000
    python -m segmentation.benchmark.selection --customers 50000 \
        --settings '{"kmeans": {"k_max": 6}}'

Runs exactly what the dbt models run (engine.transform_params, model_candidates,
algorithm_agreement, segment_model, segment_representatives, customer_assignments) with the
default settings unless ``--settings`` (JSON, merged like the dbt var) says otherwise, and prints
per-stage wall time, the slowest candidates and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from segmentation.benchmark.synthetic import synthetic_customer_features
from segmentation.config.segmentation import SegmentationSettings
from segmentation.engine import fit as engine


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _timed(label: str, stages: list[dict[str, Any]], call: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    value = call()
    seconds = time.perf_counter() - started
    stages.append({"stage": label, "seconds": round(seconds, 2), "peak_rss_mib": peak_rss_mib()})
    print(f"{label:<28} {seconds:9.2f} s   peak RSS {peak_rss_mib():9.0f} MiB", flush=True)
    return value


def run_benchmark(customers: int, groups: int, seed: int, settings: SegmentationSettings) -> dict:
    """Run the selection chain once and return the measurements."""
    stages: list[dict[str, Any]] = []
    features, _ = _timed(
        "generate features",
        stages,
        lambda: synthetic_customer_features(customers, n_groups=groups, random_state=seed),
    )
    params = _timed("transform_params", stages, lambda: engine.transform_params(features, settings))
    candidates = _timed(
        "model_candidates", stages, lambda: engine.model_candidates(features, params, settings)
    )
    _timed(
        "algorithm_agreement",
        stages,
        lambda: engine.algorithm_agreement(features, params, candidates, settings),
    )
    model = _timed(
        "segment_model",
        stages,
        lambda: engine.segment_model(features, params, candidates, settings),
    )
    _timed(
        "segment_representatives",
        stages,
        lambda: engine.segment_representatives(features, params, candidates, settings),
    )
    assignments = _timed(
        "customer_assignments",
        stages,
        lambda: engine.customer_assignments(features, params, candidates, settings),
    )
    total = sum(stage["seconds"] for stage in stages[1:])
    slowest = candidates.sort_values("fit_seconds", ascending=False).head(8)
    print("\nslowest candidates (fit s, score s):")
    for row in slowest.itertuples():
        print(f"  {row.candidate_id:<48} {row.fit_seconds:8.2f} {row.score_seconds:8.2f}")
    winner = model.iloc[0]
    print(
        f"\ncustomers {customers}, candidates {len(candidates)}, winner {winner['candidate_id']} "
        f"(silhouette {winner['silhouette']:.3f}); selection total {total:.1f} s; "
        f"peak RSS {peak_rss_mib():.0f} MiB; assignments {len(assignments)}"
    )
    return {
        "customers": customers,
        "candidates": len(candidates),
        "winner": winner["candidate_id"],
        "selection_seconds": round(total, 2),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "stages": stages,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=5, help="planted customer groups (1-6)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    parser.add_argument("--settings", default=None, help="JSON merged over the default settings")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    settings = SegmentationSettings.from_mapping(args.settings)
    figures = run_benchmark(args.customers, args.groups, args.seed, settings)
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time and peak memory of the evaluation of a kept model on many synthetic customers.

Usage (not a test; measure on an otherwise idle machine)::

    python -m segmentation.benchmark.evaluation --customers 5000
    python -m segmentation.benchmark.evaluation --customers 1000000
    python -m segmentation.benchmark.evaluation --customers 5000 --algorithm gaussian_mixture --k 2
    python -m segmentation.benchmark.evaluation --evaluation '{"bootstrap": {"resamples": 50}}'

A kept model is made first with one configuration (``--algorithm``/``--k``, default K-Means with
k = 5) through the engine (engine.run_segmentation with that single candidate, to save the
selection's time); its recorded settings then get the algorithm's default k range back, so the
prediction strength assesses every k as after a full selection. Then every evaluation table is built
exactly as the dbt models build them (evaluation_tables.segment_stability, prediction_strength,
seed_agreement, customer_evaluation, segment_evaluation) with the default evaluation settings
unless ``--evaluation`` (JSON, merged like the dbt var) says otherwise. Prints per-table wall
time and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from typing import Any

import pandas as pd

from segmentation.benchmark.synthetic import synthetic_customer_features
from segmentation.config.evaluation import EvaluationSettings
from segmentation.config.segmentation import DEFAULTS, SegmentationSettings
from segmentation.engine.fit import run_segmentation
from segmentation.evaluation.tables import run_evaluation


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def model_settings(algorithm: str, k: int) -> SegmentationSettings:
    """Settings whose only candidate is ``algorithm`` with ``k`` clusters."""
    return SegmentationSettings.from_mapping(
        {"algorithms": [algorithm], algorithm: {"k_min": k, "k_max": k}}
    )


def with_default_k_range(model: pd.DataFrame, algorithm: str) -> pd.DataFrame:
    """The model row with the algorithm's default k range in its recorded settings."""
    recorded = json.loads(model["settings_json"].iloc[0])
    recorded[algorithm] = {
        **recorded[algorithm],
        **{key: DEFAULTS[algorithm][key] for key in ("k_min", "k_max")},
    }
    return model.assign(settings_json=json.dumps(recorded, sort_keys=True))


def run_benchmark(
    customers: int, groups: int, seed: int, algorithm: str, k: int, settings: EvaluationSettings
) -> dict[str, Any]:
    """Make a kept model, evaluate it, and return the measurements."""
    started = time.perf_counter()
    features, truth = synthetic_customer_features(customers, n_groups=groups, random_state=seed)
    kept = run_segmentation(features, model_settings(algorithm, k))
    model = with_default_k_range(kept.model, algorithm)
    model_seconds = time.perf_counter() - started
    print(f"{'make features and kept model':<30} {model_seconds:9.2f} s", flush=True)
    archetypes = pd.DataFrame({"customer_id": features["customer_id"], "archetype": truth})
    result = run_evaluation(
        features,
        kept.params,
        model,
        kept.representatives,
        kept.assignments,
        archetypes,
        settings,
    )
    for stage, seconds in result.seconds.items():
        print(f"{stage:<30} {seconds:9.2f} s", flush=True)
    total = sum(result.seconds.values())
    summary = result.summary.iloc[0]
    print(
        f"\ncustomers {customers}, model {summary['candidate_id']}: evaluation {total:.1f} s, "
        f"peak RSS {peak_rss_mib():.0f} MiB; stability {summary['mean_bootstrap_stability']:.3f}, "
        f"prediction strength at k {summary['prediction_strength_at_model_k']:.3f}, "
        f"silhouette {summary['silhouette']:.3f}"
    )
    return {
        "customers": customers,
        "model": str(summary["candidate_id"]),
        "evaluation_seconds": round(total, 2),
        "stage_seconds": {stage: round(s, 2) for stage, s in result.seconds.items()},
        "model_seconds": round(model_seconds, 2),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "settings": json.loads(settings.to_json()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=5, help="planted customer groups (1-6)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    parser.add_argument("--algorithm", default="kmeans", help="algorithm of the kept model")
    parser.add_argument("--k", type=int, default=5, help="segments of the kept model")
    parser.add_argument("--evaluation", default=None, help="JSON merged over the defaults")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args(argv)
    settings = EvaluationSettings.from_mapping(args.evaluation)
    figures = run_benchmark(
        args.customers, args.groups, args.seed, args.algorithm, args.k, settings
    )
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Settings of the segmentation evaluation, read from the dbt var ``evaluation``.

The var is a mapping that mirrors :data:`DEFAULTS` key for key (see ``vars: evaluation:`` in
``dbt_project.yml``); keys left out take the defaults, so
``dbt build --vars '{evaluation: {bootstrap: {resamples: 50}}}'`` changes one value. Unknown
keys and values of the wrong type are errors that name the key.

What each part costs is bounded by its sample size, never by the number of customers (the
per-customer table is linear in customers): see :mod:`segmentation.evaluation.metrics`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from segmentation.config.validation import SettingError, VarChecker, canonical_json

DEFAULTS: dict[str, Any] = {
    # Seed of every resample, split and sample of the evaluation; null: the kept model's
    # random_state.
    "random_state": None,
    # Clusterboot (Hennig 2007): refit the winning configuration on `resamples` bootstrap
    # resamples of a seeded sample of at most `sample_size` customers (null: all customers) and
    # report each segment's mean Jaccard similarity to its best-matching refitted cluster.
    "bootstrap": {"resamples": 20, "sample_size": 5000},
    # Prediction strength (Tibshirani & Walther 2005) for every k of the winner's algorithm
    # (K-Means for density winners): `splits` random halvings of a seeded sample of at most
    # `sample_size` customers; k is supported when the mean strength >= `threshold`.
    "prediction_strength": {"splits": 5, "sample_size": 4000, "threshold": 0.8},
    # Agreement across seeds: the winner refitted with each seed on a seeded sample of at most
    # `sample_size` customers; adjusted Rand index between the runs and with the kept model.
    "seed_agreement": {"seeds": [1, 2, 3, 4, 5], "sample_size": 20000},
    # Per customer: silhouette against a seeded reference sample of `silhouette_sample_size`
    # customers (null: the selection's segmentation.selection.silhouette_sample_size, so its
    # mean equals the model's silhouette); a customer whose assignment margin is below
    # `borderline_margin` is flagged as borderline.
    "customer_fit": {"silhouette_sample_size": None, "borderline_margin": 0.1},
}


class EvaluationSettingsError(SettingError):
    """An evaluation setting is unknown or has a value of the wrong type or range."""


_CHECK = VarChecker("evaluation", EvaluationSettingsError)


@dataclass(frozen=True)
class BootstrapSettings:
    resamples: int
    sample_size: int | None


@dataclass(frozen=True)
class PredictionStrengthSettings:
    splits: int
    sample_size: int | None
    threshold: float


@dataclass(frozen=True)
class SeedAgreementSettings:
    seeds: tuple[int, ...]
    sample_size: int | None


@dataclass(frozen=True)
class CustomerFitSettings:
    silhouette_sample_size: int | None
    borderline_margin: float


@dataclass(frozen=True)
class EvaluationSettings:
    """All settings of one evaluation (see :data:`DEFAULTS` for their meaning)."""

    random_state: int | None
    bootstrap: BootstrapSettings
    prediction_strength: PredictionStrengthSettings
    seed_agreement: SeedAgreementSettings
    customer_fit: CustomerFitSettings
    raw: dict[str, Any] = field(compare=False, repr=False, default_factory=dict)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | str | None = None) -> EvaluationSettings:
        """Settings from the dbt var (a mapping, its JSON text, or None for the defaults)."""
        merged = _CHECK.merge(DEFAULTS, _CHECK.as_mapping(values))
        boot, strength = merged["bootstrap"], merged["prediction_strength"]
        seeds, fit = merged["seed_agreement"], merged["customer_fit"]
        return cls(
            random_state=_CHECK.optional_integer(merged, "random_state", 0),
            bootstrap=BootstrapSettings(
                resamples=_CHECK.integer(boot, "resamples", 2, prefix="bootstrap"),
                sample_size=_CHECK.optional_integer(boot, "sample_size", 20, "bootstrap"),
            ),
            prediction_strength=PredictionStrengthSettings(
                splits=_CHECK.integer(strength, "splits", 1, prefix="prediction_strength"),
                sample_size=_CHECK.optional_integer(
                    strength, "sample_size", 40, "prediction_strength"
                ),
                threshold=_CHECK.number(strength, "threshold", 0.0, 1.0, "prediction_strength"),
            ),
            seed_agreement=SeedAgreementSettings(
                seeds=_CHECK.integers(seeds, "seeds", 0, "seed_agreement"),
                sample_size=_CHECK.optional_integer(seeds, "sample_size", 20, "seed_agreement"),
            ),
            customer_fit=CustomerFitSettings(
                silhouette_sample_size=_CHECK.optional_integer(
                    fit, "silhouette_sample_size", 10, "customer_fit"
                ),
                borderline_margin=_CHECK.number(fit, "borderline_margin", 0.0, 1.0, "customer_fit"),
            ),
            raw=merged,
        )

    def to_json(self) -> str:
        """The effective settings (defaults merged in) as canonical JSON."""
        return canonical_json(self.raw)

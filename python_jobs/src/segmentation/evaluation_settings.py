"""Settings of the segmentation evaluation, read from the dbt var ``evaluation``.

The var is a mapping that mirrors :data:`DEFAULTS` key for key (see ``vars: evaluation:`` in
``dbt_project.yml``); keys left out take the defaults, so
``dbt build --vars '{evaluation: {bootstrap: {resamples: 50}}}'`` changes one value. Unknown
keys and values of the wrong type are errors that name the key.

What each part costs is bounded by its sample size, never by the number of customers (the
per-customer table is linear in customers): see :mod:`segmentation.evaluation`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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


class EvaluationSettingsError(ValueError):
    """An evaluation setting is unknown or has a value of the wrong type or range."""


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
        merged = _merge(DEFAULTS, _as_mapping(values), "evaluation")
        boot, strength = merged["bootstrap"], merged["prediction_strength"]
        seeds, fit = merged["seed_agreement"], merged["customer_fit"]
        seed_list = seeds["seeds"]
        if (
            not isinstance(seed_list, list | tuple)
            or not seed_list
            or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seed_list)
        ):
            raise EvaluationSettingsError(
                "evaluation.seed_agreement.seeds must be a non-empty list of integers >= 0, "
                f"got {seed_list!r}"
            )
        if len(set(seed_list)) != len(seed_list):
            raise EvaluationSettingsError(
                f"evaluation.seed_agreement.seeds lists a seed twice: {seed_list}"
            )
        return cls(
            random_state=_optional_int(merged, "random_state", 0, ""),
            bootstrap=BootstrapSettings(
                resamples=_int(boot, "resamples", 2, "bootstrap"),
                sample_size=_optional_int(boot, "sample_size", 20, "bootstrap"),
            ),
            prediction_strength=PredictionStrengthSettings(
                splits=_int(strength, "splits", 1, "prediction_strength"),
                sample_size=_optional_int(strength, "sample_size", 40, "prediction_strength"),
                threshold=_share(strength, "threshold", "prediction_strength"),
            ),
            seed_agreement=SeedAgreementSettings(
                seeds=tuple(seed_list),
                sample_size=_optional_int(seeds, "sample_size", 20, "seed_agreement"),
            ),
            customer_fit=CustomerFitSettings(
                silhouette_sample_size=_optional_int(
                    fit, "silhouette_sample_size", 10, "customer_fit"
                ),
                borderline_margin=_share(fit, "borderline_margin", "customer_fit"),
            ),
            raw=merged,
        )

    def to_json(self) -> str:
        """The effective settings (defaults merged in) as canonical JSON."""
        return json.dumps(self.raw, sort_keys=True, separators=(",", ":"))


def _merge(defaults: Mapping[str, Any], values: Mapping[str, Any], path: str) -> dict[str, Any]:
    merged = copy.deepcopy(dict(defaults))
    for key, value in values.items():
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            raise EvaluationSettingsError(f"unknown setting {path}.{key} (known: {known})")
        if isinstance(defaults[key], Mapping):
            if not isinstance(value, Mapping):
                raise EvaluationSettingsError(f"{path}.{key} must be a mapping, got {value!r}")
            merged[key] = _merge(defaults[key], value, f"{path}.{key}")
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _as_mapping(values: Mapping[str, Any] | str | None) -> Mapping[str, Any]:
    if values is None or values == "":
        return {}
    if isinstance(values, str):
        try:
            values = json.loads(values)
        except json.JSONDecodeError as error:
            raise EvaluationSettingsError(
                f"evaluation var is text but not JSON: {error}"
            ) from error
    if not isinstance(values, Mapping):
        raise EvaluationSettingsError(
            f"evaluation var must be a mapping, got {type(values).__name__}"
        )
    return values


def _name(prefix: str, key: str) -> str:
    return f"evaluation.{prefix + '.' if prefix else ''}{key}"


def _int(values: Mapping[str, Any], key: str, low: int, prefix: str) -> int:
    value = values[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise EvaluationSettingsError(
            f"{_name(prefix, key)} must be an integer >= {low}, got {value!r}"
        )
    return value


def _optional_int(values: Mapping[str, Any], key: str, low: int, prefix: str) -> int | None:
    if values[key] is None:
        return None
    value = values[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise EvaluationSettingsError(
            f"{_name(prefix, key)} must be null or an integer >= {low}, got {value!r}"
        )
    return value


def _share(values: Mapping[str, Any], key: str, prefix: str) -> float:
    value = values[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise EvaluationSettingsError(
            f"{_name(prefix, key)} must be a number from 0 to 1, got {value!r}"
        )
    return float(value)

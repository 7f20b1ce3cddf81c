"""Drift between a kept model's training data and the current customers, and the retraining
policy that reads it.

Signals (computed on every build against the kept model, before anything is refitted):

- **feature drift**: the population stability index (PSI) of every model input between the
  training window and now. The bins are fixed at training (the deciles of the training values,
  duplicates merged, open-ended at both ends; values are imputed but not clipped) and stored
  with the model; ``PSI = sum((now - train) * ln(now / train))`` over the bins, shares floored
  at :data:`SHARE_FLOOR` so an empty bin does not give an infinite index. Bands: below 0.1
  stable, 0.1 to 0.25 moderate, above 0.25 significant. Features that grow with the log's own
  age (``retraining_policy.log_age_features``: recency, tenure, the gap between orders, counts
  and sums) are compared divided by the log's age in days (:func:`log_age_days`), on both sides:
  a customer base that buys as before while the log gets older keeps the same distribution of
  "orders per day of log" or "recency as a share of the log", where the raw days and totals
  would only grow. Each feature's bins record the scale they were fitted on
  (:data:`DRIFT_SCALES`), and the current values are put on that same scale;
- **segment-size drift**: the same index over the segments, between the training shares and
  the shares of the current customers scored with the kept model;
- **stability**: the adjusted Rand index between the kept model's assignments and a fresh fit
  of the same algorithm and parameters on the current customers (1 = the same partition);
- **age**: days from the model's training as-of date to the current as-of date;
- **settings**: whether the segmentation settings differ from the kept model's.

:class:`~segmentation.config.retraining.RetrainingPolicy` (the dbt var
``retraining_policy``) turns them into a decision; every
rule and its figures are kept, so the reason for a retrain is recorded with the new version.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from segmentation.config.retraining import RetrainingPolicy

# Shares below this count as this much (an empty bin would make PSI infinite).
SHARE_FLOOR = 1e-4
STABLE_BELOW = 0.1
SIGNIFICANT_ABOVE = 0.25

# How a feature is compared: as recorded, or divided by the log's age in days.
RAW = "raw"
PER_LOG_DAY = "per_log_day"
DRIFT_SCALES: tuple[str, ...] = (RAW, PER_LOG_DAY)
# The column whose largest value is the log's age (the first order of the log to the as-of date).
LOG_AGE_COLUMN = "tenure_days"

# Rule names, in the order they are reported.
RULES: tuple[str, ...] = (
    "requested",
    "first_model",
    "model_unusable",
    "settings_changed",
    "feature_drift",
    "segment_size_drift",
    "low_stability",
    "model_age",
)
RULE_DESCRIPTIONS: dict[str, str] = {
    "requested": "retraining asked for with the dbt var retrain",
    "first_model": "the registry holds no model yet",
    "model_unusable": "the kept model cannot score the current customers",
    "settings_changed": "the segmentation settings differ from the kept model's",
    "feature_drift": "largest feature PSI above retraining_policy.max_feature_psi",
    "segment_size_drift": "segment-size PSI above retraining_policy.max_segment_size_psi",
    "low_stability": "ARI of kept vs fresh fit below retraining_policy.min_stability_ari",
    "model_age": "model older than retraining_policy.max_model_age_days (as-of dates)",
}


# -- PSI -----------------------------------------------------------------------------------


def fit_bin_edges(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Inner bin edges: the training quantiles at 1/n .. (n-1)/n, duplicates merged.

    Bin ``b`` holds ``edges[b-1] < x <= edges[b]`` (open-ended first and last bins), so a
    feature with few distinct values gets fewer bins, never empty duplicates.
    """
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return np.empty(0)
    quantiles = np.quantile(values, np.arange(1, n_bins) / n_bins)
    return np.unique(quantiles)


def bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of ``values`` in each of the ``len(edges) + 1`` bins (NaN ignored)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=edges.size + 1)
    return counts / values.size if values.size else counts.astype(float)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of ``actual`` shares against ``expected`` shares."""
    e = np.maximum(np.asarray(expected, dtype=float), SHARE_FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), SHARE_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_band(value: float | None) -> str | None:
    """stable (< 0.1), moderate (0.1 to 0.25) or significant (> 0.25)."""
    if value is None or pd.isna(value):
        return None
    if value < STABLE_BELOW:
        return "stable"
    return "moderate" if value <= SIGNIFICANT_ABOVE else "significant"


# -- decision ------------------------------------------------------------------------------


@dataclass
class Signals:
    """Everything the policy reads, measured against the kept model."""

    feature_psi: list[dict[str, Any]]  # feature_name, psi, psi_band, n_bins
    segment_sizes: list[dict[str, Any]]  # segment_id, training/current share, psi_term, count
    segment_size_psi: float | None
    stability_ari: float | None
    model_age_days: int | None
    settings_changed: bool
    unusable_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> Signals:
        values = dict(values or {})
        return cls(
            feature_psi=list(values.get("feature_psi") or []),
            segment_sizes=list(values.get("segment_sizes") or []),
            segment_size_psi=values.get("segment_size_psi"),
            stability_ari=values.get("stability_ari"),
            model_age_days=values.get("model_age_days"),
            settings_changed=bool(values.get("settings_changed", False)),
            unusable_reason=values.get("unusable_reason"),
        )


@dataclass(frozen=True)
class Decision:
    """Whether to retrain, the rules that fired (codes) and a readable reason."""

    retrain: bool
    codes: tuple[str, ...]
    reason: str
    rules: tuple[dict[str, Any], ...]


def decide(signals: Signals | None, policy: RetrainingPolicy, requested: bool) -> Decision:
    """Apply ``policy`` to ``signals`` (None: no kept model yet). Every rule is reported."""
    first = signals is None
    rules = [
        _rule(
            "requested",
            float(requested),
            1.0,
            requested,
            "retrain var is true" if requested else "",
        ),
        _rule("first_model", None, None, first, "empty registry" if first else ""),
    ]
    if signals is not None:
        rules += _signal_rules(signals, policy)
    fired = [r for r in rules if r["is_triggered"]]
    codes = tuple(r["rule_name"] for r in fired)
    if fired:
        reason = "; ".join(f"{r['rule_name']}: {r['detail'] or r['description']}" for r in fired)
    else:
        reason = "kept: every signal within the retraining policy"
    return Decision(bool(fired), codes, reason, tuple(rules))


def _rule(
    name: str, observed: float | None, threshold: float | None, hit: bool, detail: str
) -> dict[str, Any]:
    """One rule's row: what it measured, against what, whether it fired and why."""
    return {
        "rule_name": name,
        "description": RULE_DESCRIPTIONS[name],
        "observed_value": observed,
        "threshold": threshold,
        "is_triggered": bool(hit),
        "detail": detail,
    }


def _signal_rules(signals: Signals, policy: RetrainingPolicy) -> list[dict[str, Any]]:
    """The rules that read the kept model's signals, in :data:`RULES` order."""
    unusable = signals.unusable_reason
    changed = signals.settings_changed
    size, ari, age = signals.segment_size_psi, signals.stability_ari, signals.model_age_days
    return [
        _rule("model_unusable", None, None, unusable is not None, unusable or ""),
        _rule(
            "settings_changed",
            float(changed),
            None,
            changed and policy.retrain_on_settings_change,
            "segmentation settings differ from the kept model's" if changed else "",
        ),
        _feature_drift_rule(signals, policy),
        _rule(
            "segment_size_drift",
            size,
            policy.max_segment_size_psi,
            size is not None and size > policy.max_segment_size_psi,
            "" if size is None else f"segment-size PSI {size:.3f}",
        ),
        _rule(
            "low_stability",
            ari,
            policy.min_stability_ari,
            ari is not None and ari < policy.min_stability_ari,
            "" if ari is None else f"ARI kept vs fresh fit {ari:.3f}",
        ),
        _rule(
            "model_age",
            None if age is None else float(age),
            float(policy.max_model_age_days),
            age is not None and age > policy.max_model_age_days,
            "" if age is None else f"{age} days since the training as-of date",
        ),
    ]


def _feature_drift_rule(signals: Signals, policy: RetrainingPolicy) -> dict[str, Any]:
    """Fires when a feature that counts for the policy drifted beyond max_feature_psi."""
    counted = [f for f in signals.feature_psi if counts_for_policy(f["feature_name"], policy)]
    drifted = [f for f in counted if f["psi"] > policy.max_feature_psi]
    return _rule(
        "feature_drift",
        max((f["psi"] for f in counted), default=None),
        policy.max_feature_psi,
        bool(drifted),
        ", ".join(f"{_feature_text(f)} PSI {f['psi']:.3f}" for f in drifted),
    )


def _feature_text(row: Mapping[str, Any]) -> str:
    """A drift row's feature, with the scale it was compared on when not raw."""
    if row.get("drift_scale") == PER_LOG_DAY:
        return f"{row['feature_name']} (per day of the log)"
    return str(row["feature_name"])


def counts_for_policy(feature: str, policy: RetrainingPolicy) -> bool:
    """True unless the feature's drift is exempt from the feature-drift rule."""
    return feature not in policy.drift_exempt_features


def segment_size_rows(
    training: Mapping[int, float], current_ids: np.ndarray
) -> tuple[list[dict[str, Any]], float | None]:
    """Per segment: training share, current share, the PSI term; and the total index."""
    if current_ids.size == 0 or not training:
        return [], None
    ids, counts = np.unique(current_ids, return_counts=True)
    now = dict(zip(ids.tolist(), (counts / current_ids.size).tolist(), strict=True))
    rows = []
    for segment_id in sorted(set(training) | set(now)):
        e = max(float(training.get(segment_id, 0.0)), SHARE_FLOOR)
        a = max(float(now.get(segment_id, 0.0)), SHARE_FLOOR)
        rows.append(
            {
                "segment_id": int(segment_id),
                "training_share": float(training.get(segment_id, 0.0)),
                "current_share": float(now.get(segment_id, 0.0)),
                "customer_count": int(counts[ids == segment_id].sum()),
                "psi_term": float((a - e) * math.log(a / e)),
            }
        )
    return rows, float(sum(row["psi_term"] for row in rows))


def log_age_days(features: pd.DataFrame) -> float | None:
    """The log's age at the as-of date in days: the largest ``tenure_days`` (the customer whose
    first order opened the log). None without that column or with no positive value."""
    if LOG_AGE_COLUMN not in features.columns:
        return None
    value = pd.to_numeric(features[LOG_AGE_COLUMN], errors="coerce").max()
    return float(value) if pd.notna(value) and value > 0 else None


def drift_scale(feature: str, policy: RetrainingPolicy, log_age: float | None) -> str:
    """The scale a new model's bins for ``feature`` are fitted on."""
    return PER_LOG_DAY if feature in policy.log_age_features and log_age else RAW


def on_scale(values: np.ndarray, scale: str | None, log_age: float | None) -> np.ndarray:
    """``values`` on ``scale`` (None: raw, as bins stored before scales were recorded)."""
    if scale in (None, RAW):
        return np.asarray(values, dtype=float)
    if scale != PER_LOG_DAY:
        raise ValueError(f"unknown drift scale {scale!r}; expected one of {DRIFT_SCALES}")
    if not log_age:
        raise ValueError(
            f"the kept model compares drift per day of the log, which needs {LOG_AGE_COLUMN} "
            "with a positive value"
        )
    return np.asarray(values, dtype=float) / log_age


def feature_psi_rows(
    profile: pd.DataFrame, current: Mapping[str, np.ndarray], log_age: float | None
) -> list[dict[str, Any]]:
    """PSI per feature of ``profile`` (feature_name, bin_index, upper_edge, training_share,
    drift_scale) for the current values (imputed, unclipped, unscaled) in ``current``; the
    values are put on each feature's recorded scale with the current ``log_age``."""
    rows = []
    for name, bins in profile.groupby("feature_name", sort=False):
        bins = bins.sort_values("bin_index")
        scale = _recorded_scale(bins)
        edges = bins["upper_edge"].dropna().to_numpy(dtype=float)
        now = bin_shares(on_scale(current[name], scale, log_age), edges)
        value = psi(bins["training_share"].to_numpy(dtype=float), now)
        rows.append(
            {
                "feature_name": str(name),
                "psi": value,
                "psi_band": psi_band(value),
                "n_bins": int(len(bins)),
                "drift_scale": scale,
            }
        )
    return rows


def _recorded_scale(bins: pd.DataFrame) -> str:
    if "drift_scale" not in bins.columns:
        return RAW
    scale = bins["drift_scale"].iloc[0]
    return RAW if scale is None or pd.isna(scale) else str(scale)


def profile_rows(
    values: Mapping[str, np.ndarray],
    n_bins: int,
    policy: RetrainingPolicy,
    log_age: float | None,
) -> list[dict[str, Any]]:
    """The training profile: per feature and bin, its edges and training share, fitted on the
    feature's drift scale (:func:`drift_scale`)."""
    rows: list[dict[str, Any]] = []
    for name, column in values.items():
        scale = drift_scale(name, policy, log_age)
        scaled = on_scale(column, scale, log_age)
        edges = fit_bin_edges(scaled, n_bins)
        shares = bin_shares(scaled, edges)
        lower = [None, *edges.tolist()]
        upper = [*edges.tolist(), None]
        for index, share in enumerate(shares):
            rows.append(
                {
                    "feature_name": name,
                    "bin_index": index + 1,
                    "lower_edge": lower[index],
                    "upper_edge": upper[index],
                    "training_share": float(share),
                    "drift_scale": scale,
                }
            )
    return rows

"""The retraining policy, read from the dbt var ``retraining_policy``, and the ``retrain`` flag.

The var is a mapping whose keys mirror the fields of :class:`RetrainingPolicy` (see ``vars:
retraining_policy:`` in ``dbt_project.yml``); keys left out take the defaults. What the policy
reads (drift, stability, age) is measured in :mod:`segmentation.registry.drift`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from segmentation.config.validation import SettingError, VarChecker, canonical_json


class PolicyError(SettingError):
    """A key of the retraining_policy var is unknown or has a bad value (names the key)."""


_CHECK = VarChecker("retraining_policy", PolicyError)

# Columns of fct_customer_features that grow with the log's age for a customer who buys as
# before: days since the first or last order, the mean gap (bounded by the log's age in a young
# log, and standing in for recency for one-order customers), and counts and sums over the log.
LOG_AGE_FEATURES: tuple[str, ...] = (
    "recency_days",
    "tenure_days",
    "mean_days_between_orders",
    "frequency_orders",
    "monetary_amount",
    "distinct_products",
    "active_months",
)


@dataclass(frozen=True)
class RetrainingPolicy:
    """Thresholds of the retraining policy (the dbt var ``retraining_policy``).

    Retrain when any feature's PSI exceeds ``max_feature_psi``, the segment-size PSI exceeds
    ``max_segment_size_psi``, the kept-vs-fresh-fit ARI falls below ``min_stability_ari``, the
    model is older than ``max_model_age_days``, or (with ``retrain_on_settings_change``) the
    settings changed. ``psi_bins`` bins are fitted per feature at training;
    ``stability_sample_size`` caps the customers the fresh fit sees; a retrained segment keeps
    its id when it shares at least ``min_segment_overlap`` (Jaccard) of its customers with the
    previous segment it is matched to. Features in ``log_age_features`` grow with the log's own
    age (days since a first or last order, counts and sums over the whole log): drift compares
    them divided by the log's age in days, so a log that is only older does not look drifted
    (:mod:`segmentation.registry.drift`). Features in ``drift_exempt_features`` are measured and
    reported but do not fire the feature-drift rule.
    """

    max_feature_psi: float = 0.25
    max_segment_size_psi: float = 0.25
    min_stability_ari: float = 0.5
    max_model_age_days: int = 365
    retrain_on_settings_change: bool = True
    psi_bins: int = 10
    stability_sample_size: int = 20000
    min_segment_overlap: float = 0.5
    drift_exempt_features: tuple[str, ...] = ()
    log_age_features: tuple[str, ...] = LOG_AGE_FEATURES

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | str | None = None) -> RetrainingPolicy:
        """The policy from the var (a mapping, its JSON text, or None for the defaults)."""
        defaults = asdict(cls())
        merged = _CHECK.merge(defaults, _CHECK.as_mapping(values))
        return cls(
            max_feature_psi=_CHECK.number(merged, "max_feature_psi", 0.0, 100.0),
            max_segment_size_psi=_CHECK.number(merged, "max_segment_size_psi", 0.0, 100.0),
            min_stability_ari=_CHECK.number(merged, "min_stability_ari", 0.0, 1.0),
            max_model_age_days=_CHECK.integer(merged, "max_model_age_days", 1, 36500),
            retrain_on_settings_change=_CHECK.boolean(merged, "retrain_on_settings_change"),
            psi_bins=_CHECK.integer(merged, "psi_bins", 2, 100),
            stability_sample_size=_CHECK.integer(merged, "stability_sample_size", 100, 10**8),
            min_segment_overlap=_CHECK.number(merged, "min_segment_overlap", 0.0, 1.0),
            drift_exempt_features=_CHECK.names(merged, "drift_exempt_features", None),
            log_age_features=_CHECK.names(merged, "log_age_features", None),
        )

    def to_json(self) -> str:
        return canonical_json(asdict(self))


def parse_flag(value: Any) -> bool:
    """The ``retrain`` var as a boolean (dbt may hand it over as text)."""
    if isinstance(value, bool):
        return value
    if value is None or value == "":
        return False
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", "none"):
        return False
    raise PolicyError(f"var retrain must be true or false, got {value!r}")

"""Settings of the clustering engine, read from the dbt var ``segmentation``.

The dbt var is a mapping (see ``vars: segmentation:`` in ``dbt_project.yml``, which mirrors
:data:`DEFAULTS` key for key). Keys left out take the defaults below, so
``dbt build --vars '{segmentation: {kmeans: {k_max: 6}}}'`` changes one value and keeps the rest.
Unknown keys and values of the wrong type are errors that name the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from segmentation.config.validation import (
    SettingError,
    VarChecker,
    canonical_json,
    is_integer,
    is_number,
)

# Numeric columns of fct_customer_features that may enter the model.
FEATURE_COLUMNS: tuple[str, ...] = (
    "recency_days",
    "frequency_orders",
    "monetary_amount",
    "tenure_days",
    "avg_order_value",
    "avg_items_per_order",
    "avg_unit_price",
    "distinct_products",
    "cancellation_rate",
    "mean_days_between_orders",
    "weekend_order_share",
    "evening_order_share",
    "active_months",
    "country_count",
)
# The engagement features (fct_customer_engagement): model inputs too, but only with the var
# engagement_feature_role set to define, which puts them in fct_customer_features.
ENGAGEMENT_FEATURE_COLUMNS: tuple[str, ...] = (
    "days_since_last_visit",
    "sessions_per_month",
    "views_per_order",
    "cart_to_order_rate",
    "email_open_rate",
    "email_click_rate",
    "orders_after_email_click_share",
)
MODEL_FEATURE_COLUMNS: tuple[str, ...] = FEATURE_COLUMNS + ENGAGEMENT_FEATURE_COLUMNS

ALGORITHMS: tuple[str, ...] = ("kmeans", "gaussian_mixture", "agglomerative", "dbscan", "hdbscan")
SCALERS: tuple[str, ...] = ("standard", "robust", "quantile")
OBJECTIVES: tuple[str, ...] = ("actionable", "separation")
LINKAGES: tuple[str, ...] = ("ward", "average", "complete", "single")

# An attribute's name as dbt and the warehouse see it (stg_shop__customer_attributes).
# At most 40 characters: the dbt macro attribute_indicator_columns cuts the category columns'
# names at 60, which must leave attribute_<name>__ (the start indicator_prefix finds) whole.
ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
# The most a weight may be: beyond it one attribute would outweigh every numeric feature.
MAX_ATTRIBUTE_WEIGHT = 10.0


def indicator_prefix(attribute: str) -> str:
    """The start of the names of ``attribute``'s 0/1 category columns in fct_customer_features
    (the dbt macro attribute_indicator_columns names them the same way)."""
    return f"attribute_{attribute}__"


# The defaults, documented key by key in dbt_project.yml (a test keeps both in step).
DEFAULTS: dict[str, Any] = {
    "random_state": 42,
    # The features that define segments (the model's inputs), in priority order: when two are
    # highly correlated the later one is left out. Every other column of fct_customer_features
    # only describes segments (segmentation.describe.roles says why, feature by feature).
    "features": [
        "recency_days",
        "frequency_orders",
        "monetary_amount",
        "tenure_days",
        "avg_order_value",
        "distinct_products",
        "mean_days_between_orders",
    ],
    # Right-skewed money, count and day features: x -> ln(1 + x) before clipping bounds apply.
    "log1p_features": [
        "recency_days",
        "frequency_orders",
        "monetary_amount",
        "tenure_days",
        "avg_order_value",
        "avg_items_per_order",
        "avg_unit_price",
        "distinct_products",
        "mean_days_between_orders",
    ],
    # NULL handling per feature: a column name (take that column's value), "median", or a number.
    # mean_days_between_orders is NULL for one-order customers; their next order, if any, comes
    # after the as-of date, so their gap is at least recency_days: that censored lower bound is
    # used (it keeps one-order customers apart from frequent buyers).
    "imputation": {"mean_days_between_orders": "recency_days"},
    # Customer attributes (the optional customer input) that define segments too, each with its
    # weight: attribute name -> weight. Each category becomes a 0/1 column of
    # fct_customer_features (attribute_<name>__<category>), scaled so that two customers in
    # different categories are `weight` apart, as far as one standard deviation of a numeric
    # feature times the weight. A customer without the attribute has 0 in every column: half-way
    # between the categories, not imputed into one. Empty: attributes only describe segments.
    "categorical_attributes": {},
    # Values outside these quantiles are set to the bound (flagged as outliers, never dropped);
    # null switches clipping off.
    "clip_quantiles": [0.01, 0.99],
    # standard: (x - mean) / std; robust: (x - median) / IQR; quantile: rank -> normal scores
    # (not scorable in SQL).
    "scaler": "standard",
    # The scale of a log1p feature is at least this (log units): a feature that barely varies
    # is not stretched to a full unit of distance. null: no floor.
    "log_scale_floor": 0.25,
    # null (no PCA), an int (components) or a float in (0, 1) (share of variance kept).
    # PCA output is not scorable in plain SQL.
    "pca_components": None,
    # A feature whose |Pearson r| with an earlier kept feature exceeds this is left out.
    "max_abs_correlation": 0.95,
    "algorithms": ["kmeans", "gaussian_mixture", "agglomerative", "dbscan", "hdbscan"],
    # Fit on a seeded sample of at most this many customers (null: all), then label everyone.
    "kmeans": {"k_min": 2, "k_max": 10, "n_init": 10, "fit_sample_size": 20000},
    "gaussian_mixture": {
        "k_min": 2,
        "k_max": 8,
        "covariance_type": "full",
        "reg_covar": 1e-6,
        "n_init": 1,
        "fit_sample_size": 10000,
    },
    "agglomerative": {
        "k_min": 2,
        "k_max": 8,
        "linkages": ["ward", "average"],
        "fit_sample_size": 3000,
    },
    # eps null: chosen at the knee of the sorted k-distance curve (k = min_samples).
    "dbscan": {"min_samples": [10, 25], "eps": None, "fit_sample_size": 3000},
    "hdbscan": {"min_cluster_size": [50, 150], "min_samples": None, "fit_sample_size": 3000},
    "selection": {
        # actionable: the most segments within target_segments whose every segment is stable
        # (bootstrap Jaccard >= min_segment_stability) and meets the share rule, ties by
        # silhouette; when no k in the range is stable, the closest stable k below it.
        # separation: the best silhouette, ties to fewer segments (stability not measured).
        "objective": "actionable",
        "target_segments": [4, 8],
        # A candidate is stable when every segment's mean bootstrap Jaccard reaches
        # min_segment_stability (Hennig: 0.75) and their mean reaches min_mean_stability.
        "min_segment_stability": 0.75,
        "min_mean_stability": 0.85,
        # Stable candidates within this silhouette of the best stable one tie; the tie goes to
        # the most segments.
        "granularity_tolerance": 0.02,
        # Stability during selection: candidates of `algorithms` are measured by refits on
        # `resamples` bootstrap resamples of a seeded sample of at most `sample_size` customers
        # (the cost does not grow with customers); only they can win under actionable.
        "stability": {"algorithms": ["kmeans"], "resamples": 20, "sample_size": 5000},
        # Silhouette is computed on a seeded sample of this many customers.
        "silhouette_sample_size": 3000,
        # Share rule: every segment holds at least min_segment_share of the customers, or is
        # small but valuable: at least valuable_segment.min_share of the customers and at least
        # valuable_segment.revenue_ratio times its customer share in revenue share.
        "min_segment_share": 0.03,
        "valuable_segment": {"min_share": 0.01, "revenue_ratio": 3.0},
        # ... and density methods label at most this share as noise.
        "max_noise_share": 0.25,
        "min_segments": 2,
        "max_segments": 10,
        # separation objective: silhouettes within this distance of the best count as a tie,
        # and ties go to fewer segments.
        "silhouette_tie_tolerance": 0.01,
    },
}


class SettingsError(SettingError):
    """A segmentation setting is missing, unknown or of the wrong type."""


_CHECK = VarChecker("segmentation", SettingsError)


@dataclass(frozen=True)
class KMeansSettings:
    k_min: int
    k_max: int
    n_init: int
    fit_sample_size: int | None


@dataclass(frozen=True)
class GaussianMixtureSettings:
    k_min: int
    k_max: int
    covariance_type: str
    reg_covar: float
    n_init: int
    fit_sample_size: int | None


@dataclass(frozen=True)
class AgglomerativeSettings:
    k_min: int
    k_max: int
    linkages: tuple[str, ...]
    fit_sample_size: int | None


@dataclass(frozen=True)
class DBSCANSettings:
    min_samples: tuple[int, ...]
    eps: float | None
    fit_sample_size: int | None


@dataclass(frozen=True)
class HDBSCANSettings:
    min_cluster_size: tuple[int, ...]
    min_samples: int | None
    fit_sample_size: int | None


@dataclass(frozen=True)
class SelectionSettings:
    silhouette_sample_size: int
    min_segment_share: float
    max_noise_share: float
    min_segments: int
    max_segments: int
    silhouette_tie_tolerance: float
    objective: str
    target_segments: tuple[int, int]
    min_segment_stability: float
    min_mean_stability: float
    granularity_tolerance: float
    stability_algorithms: tuple[str, ...]
    stability_resamples: int
    stability_sample_size: int | None
    valuable_min_share: float
    valuable_revenue_ratio: float


@dataclass(frozen=True)
class PreparationSettings:
    features: tuple[str, ...]
    log1p_features: tuple[str, ...]
    imputation: tuple[tuple[str, str | float], ...]
    clip_quantiles: tuple[float, float] | None
    scaler: str
    log_scale_floor: float | None
    pca_components: int | float | None
    max_abs_correlation: float
    categorical_attributes: tuple[tuple[str, float], ...] = ()

    def imputation_for(self, feature: str) -> str | float | None:
        """The NULL rule of ``feature`` (column name, "median", number) or None."""
        return dict(self.imputation).get(feature)


@dataclass(frozen=True)
class SegmentationSettings:
    """All settings of one segmentation run (see :data:`DEFAULTS` for their meaning)."""

    random_state: int
    preparation: PreparationSettings
    algorithms: tuple[str, ...]
    kmeans: KMeansSettings
    gaussian_mixture: GaussianMixtureSettings
    agglomerative: AgglomerativeSettings
    dbscan: DBSCANSettings
    hdbscan: HDBSCANSettings
    selection: SelectionSettings
    raw: dict[str, Any] = field(compare=False, repr=False, default_factory=dict)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | str | None = None) -> SegmentationSettings:
        """Settings from the dbt var (a mapping, its JSON text, or None for the defaults)."""
        merged = merge_with_defaults(_CHECK.as_mapping(values))
        prep = PreparationSettings(
            features=_CHECK.names(merged, "features", MODEL_FEATURE_COLUMNS),
            log1p_features=_CHECK.names(merged, "log1p_features", MODEL_FEATURE_COLUMNS),
            imputation=_imputation(merged["imputation"]),
            clip_quantiles=_clip_quantiles(merged["clip_quantiles"]),
            scaler=_CHECK.choice(merged, "scaler", SCALERS),
            log_scale_floor=None
            if merged["log_scale_floor"] is None
            else _CHECK.number(merged, "log_scale_floor", 0.0, 10.0),
            pca_components=_pca(merged["pca_components"]),
            max_abs_correlation=_CHECK.number(merged, "max_abs_correlation", low=0.0, high=1.0),
            categorical_attributes=_categorical_attributes(merged["categorical_attributes"]),
        )
        if not prep.features:
            raise SettingsError("segmentation.features is empty: name at least one feature")
        algorithms = _CHECK.names(merged, "algorithms", ALGORITHMS)
        if not algorithms:
            raise SettingsError("segmentation.algorithms is empty: name at least one algorithm")
        km, gm, ag = merged["kmeans"], merged["gaussian_mixture"], merged["agglomerative"]
        db, hd, sel = merged["dbscan"], merged["hdbscan"], merged["selection"]
        settings = cls(
            random_state=_CHECK.integer(merged, "random_state", low=0),
            preparation=prep,
            algorithms=algorithms,
            kmeans=KMeansSettings(
                *_k_range(km, "kmeans"),
                n_init=_CHECK.integer(km, "n_init", low=1, prefix="kmeans"),
                fit_sample_size=_sample_size(km, "kmeans"),
            ),
            gaussian_mixture=GaussianMixtureSettings(
                *_k_range(gm, "gaussian_mixture"),
                covariance_type=_CHECK.choice(
                    gm, "covariance_type", ("full", "tied", "diag", "spherical"), "gaussian_mixture"
                ),
                reg_covar=_CHECK.number(
                    gm, "reg_covar", 0.0, None, "gaussian_mixture", open_low=True
                ),
                n_init=_CHECK.integer(gm, "n_init", low=1, prefix="gaussian_mixture"),
                fit_sample_size=_sample_size(gm, "gaussian_mixture"),
            ),
            agglomerative=AgglomerativeSettings(
                *_k_range(ag, "agglomerative"),
                linkages=_CHECK.names(ag, "linkages", LINKAGES, "agglomerative"),
                fit_sample_size=_sample_size(ag, "agglomerative"),
            ),
            dbscan=DBSCANSettings(
                min_samples=_CHECK.integers(db, "min_samples", 1, "dbscan"),
                eps=None
                if db["eps"] is None
                else _CHECK.number(db, "eps", low=0.0, prefix="dbscan", open_low=True),
                fit_sample_size=_sample_size(db, "dbscan"),
            ),
            hdbscan=HDBSCANSettings(
                min_cluster_size=_CHECK.integers(hd, "min_cluster_size", 2, "hdbscan"),
                min_samples=None
                if hd["min_samples"] is None
                else _CHECK.integer(hd, "min_samples", low=1, prefix="hdbscan"),
                fit_sample_size=_sample_size(hd, "hdbscan"),
            ),
            selection=SelectionSettings(
                silhouette_sample_size=_CHECK.integer(
                    sel, "silhouette_sample_size", low=10, prefix="selection"
                ),
                min_segment_share=_CHECK.number(sel, "min_segment_share", 0.0, 0.5, "selection"),
                max_noise_share=_CHECK.number(sel, "max_noise_share", 0.0, 1.0, "selection"),
                min_segments=_CHECK.integer(sel, "min_segments", low=2, prefix="selection"),
                max_segments=_CHECK.integer(sel, "max_segments", low=2, prefix="selection"),
                silhouette_tie_tolerance=_CHECK.number(
                    sel, "silhouette_tie_tolerance", 0.0, 1.0, "selection"
                ),
                objective=_CHECK.choice(sel, "objective", OBJECTIVES, "selection"),
                target_segments=_target_segments(sel),
                min_segment_stability=_CHECK.number(
                    sel, "min_segment_stability", 0.0, 1.0, "selection"
                ),
                min_mean_stability=_CHECK.number(sel, "min_mean_stability", 0.0, 1.0, "selection"),
                granularity_tolerance=_CHECK.number(
                    sel, "granularity_tolerance", 0.0, 1.0, "selection"
                ),
                stability_algorithms=_CHECK.names(
                    sel["stability"], "algorithms", ALGORITHMS, "selection.stability"
                ),
                stability_resamples=_CHECK.integer(
                    sel["stability"], "resamples", 2, prefix="selection.stability"
                ),
                stability_sample_size=_CHECK.optional_integer(
                    sel["stability"], "sample_size", 50, "selection.stability"
                ),
                valuable_min_share=_CHECK.number(
                    sel["valuable_segment"], "min_share", 0.0, 0.5, "selection.valuable_segment"
                ),
                valuable_revenue_ratio=_CHECK.number(
                    sel["valuable_segment"],
                    "revenue_ratio",
                    1.0,
                    None,
                    "selection.valuable_segment",
                ),
            ),
            raw=merged,
        )
        if settings.selection.min_segments > settings.selection.max_segments:
            raise SettingsError("segmentation.selection.min_segments exceeds max_segments")
        return settings

    def to_json(self) -> str:
        """The effective settings (defaults merged in) as canonical JSON, for the model record."""
        return canonical_json(self.raw)


def merge_with_defaults(values: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``values`` over :data:`DEFAULTS`; unknown keys are errors naming the key."""
    return _CHECK.merge(DEFAULTS, values, opaque=("imputation", "categorical_attributes"))


def _target_segments(selection: Mapping[str, Any]) -> tuple[int, int]:
    value = selection["target_segments"]
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(is_integer(k) and k >= 2 for k in value)
        or value[0] > value[1]
    ):
        raise SettingsError(
            "segmentation.selection.target_segments must be [low, high] with 2 <= low <= high, "
            f"got {value!r}"
        )
    return int(value[0]), int(value[1])


def _k_range(values: Mapping[str, Any], prefix: str) -> tuple[int, int]:
    k_min = _CHECK.integer(values, "k_min", low=2, prefix=prefix)
    k_max = _CHECK.integer(values, "k_max", low=2, prefix=prefix)
    if k_min > k_max:
        raise SettingsError(f"segmentation.{prefix}.k_min ({k_min}) exceeds k_max ({k_max})")
    return k_min, k_max


def _sample_size(values: Mapping[str, Any], prefix: str) -> int | None:
    return _CHECK.optional_integer(values, "fit_sample_size", low=10, prefix=prefix)


def _clip_quantiles(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(is_number(q) for q in value)
        or not 0.0 <= value[0] < value[1] <= 1.0
    ):
        raise SettingsError(
            f"segmentation.clip_quantiles must be [low, high] with 0 <= low < high <= 1 or null, "
            f"got {value!r}"
        )
    return float(value[0]), float(value[1])


def _pca(value: Any) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(f"segmentation.pca_components must be null, int or float: {value!r}")
    if isinstance(value, int) and value < 1:
        raise SettingsError(f"segmentation.pca_components must be >= 1, got {value}")
    if isinstance(value, float) and not 0.0 < value < 1.0:
        raise SettingsError(f"segmentation.pca_components as a share must be in (0, 1): {value}")
    return value


def _imputation(value: Any) -> tuple[tuple[str, str | float], ...]:
    if not isinstance(value, Mapping):
        raise SettingsError(f"segmentation.imputation must be a mapping, got {value!r}")
    rules: list[tuple[str, str | float]] = []
    for feature, rule in sorted(value.items()):
        if feature not in MODEL_FEATURE_COLUMNS:
            raise SettingsError(f"segmentation.imputation names unknown feature {feature!r}")
        if isinstance(rule, str):
            if rule != "median" and rule not in MODEL_FEATURE_COLUMNS:
                raise SettingsError(
                    f"segmentation.imputation.{feature} must be 'median', a number or a feature "
                    f"column, got {rule!r}"
                )
        elif isinstance(rule, bool) or not isinstance(rule, int | float):
            raise SettingsError(f"segmentation.imputation.{feature} has bad rule {rule!r}")
        rules.append((feature, rule if isinstance(rule, str) else float(rule)))
    return tuple(rules)


def _categorical_attributes(value: Any) -> tuple[tuple[str, float], ...]:
    if not isinstance(value, Mapping):
        raise SettingsError(
            f"segmentation.categorical_attributes must be a mapping of attribute name to weight, "
            f"got {value!r}"
        )
    chosen: list[tuple[str, float]] = []
    for name, weight in sorted(value.items()):
        if not isinstance(name, str) or not ATTRIBUTE_NAME.fullmatch(name):
            raise SettingsError(
                f"segmentation.categorical_attributes names {name!r}: an attribute name is "
                "lower-case letters, digits and underscores, starting with a letter, at most 40 "
                "characters"
            )
        if not is_number(weight) or not 0.0 < float(weight) <= MAX_ATTRIBUTE_WEIGHT:
            raise SettingsError(
                f"segmentation.categorical_attributes.{name} must be a weight above 0 and at "
                f"most {MAX_ATTRIBUTE_WEIGHT:g}, got {weight!r}"
            )
        chosen.append((name, float(weight)))
    return tuple(chosen)

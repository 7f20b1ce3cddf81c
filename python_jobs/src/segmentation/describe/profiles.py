"""Segment profiles: every feature of every segment against the whole customer base.

One row per segment and feature (the table ``ml_segment_profiles``, published as
``marts.fct_segment_feature_profiles``): the segment's mean and median in the feature's original
unit, the same for all segmented customers, and two comparisons:

- ``lift`` = segment mean / population mean (2.0: twice the average; null when the population
  mean is 0);
- ``z_score`` = (segment mean - population mean) / population standard deviation, the
  standardised difference of means (null when the feature does not vary).

``segment_rank`` orders segments by their mean (1 = highest) and ``distinctiveness_rank`` orders
a segment's features by ``|z_score|`` (1 = the feature that sets the segment apart most); persona
descriptions (personas.py) use the most distinctive ones.

NULL values (e.g. days between orders of a one-order customer) are left out of a feature's
statistics; ``customer_count`` says how many customers have a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segmentation.io.tables import conform, empty

ID_COLUMN = "customer_id"
SEGMENT_COLUMN = "segment_id"


class ProfileInputError(ValueError):
    """The inputs of a profile are unusable; the message names the table and column."""


@dataclass(frozen=True)
class ProfileFeature:
    """A column of fct_customer_features as shown to business users.

    ``label`` is a noun phrase that reads after a number ("3.1 orders") or before a comparison
    ("orders 2.0x the average"); ``unit`` is the unit of its values (``share`` = 0 ... 1);
    ``is_whole`` says the values are whole numbers; ``missing_text`` says what a NULL means and
    ``present_text`` what having any value means.
    """

    name: str
    label: str
    unit: str
    is_whole: bool = False
    missing_text: str = "no value"
    present_text: str = ""

    def __post_init__(self) -> None:
        if not self.present_text:
            object.__setattr__(self, "present_text", f"{self.label} known")


# Every numeric customer feature, in the order profiles list them. The SQL side keeps the same
# list in macros/segment_profiles.sql (a test checks they agree).
PROFILE_FEATURES: tuple[ProfileFeature, ...] = (
    ProfileFeature("recency_days", "days since the last order", "days", is_whole=True),
    ProfileFeature("frequency_orders", "orders", "orders", is_whole=True),
    ProfileFeature("monetary_amount", "net revenue", "currency"),
    ProfileFeature("tenure_days", "days since the first order", "days", is_whole=True),
    ProfileFeature("avg_order_value", "order value", "currency"),
    ProfileFeature("avg_items_per_order", "items per order", "units"),
    ProfileFeature("avg_unit_price", "unit price", "currency"),
    ProfileFeature("distinct_products", "distinct products", "products", is_whole=True),
    ProfileFeature("cancellation_rate", "share of units cancelled", "share"),
    ProfileFeature(
        "mean_days_between_orders",
        "days between orders",
        "days",
        missing_text="only one order",
        present_text="two or more orders",
    ),
    ProfileFeature("weekend_order_share", "share of weekend orders", "share"),
    ProfileFeature("evening_order_share", "share of evening orders", "share"),
    ProfileFeature("active_months", "active months", "months", is_whole=True),
    ProfileFeature("country_count", "countries", "countries", is_whole=True),
    ProfileFeature("q4_revenue_share", "share of revenue in October to December", "share"),
)
PROFILE_FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in PROFILE_FEATURES)
FEATURES_BY_NAME: dict[str, ProfileFeature] = {f.name: f for f in PROFILE_FEATURES}

# A spread below this (relative to the mean's size) counts as no variation at all.
_RELATIVE_TOLERANCE = 1e-12


def segmented_customers(features: pd.DataFrame, assignments: pd.DataFrame) -> pd.DataFrame:
    """``features`` with each customer's ``segment_id``, in customer order.

    Only customers present in both tables are kept. Raises :class:`ProfileInputError` when a
    key column is missing, a customer has two assignments or a segment id is missing.
    """
    _require(features, "fct_customer_features", [ID_COLUMN])
    _require(assignments, "ml_customer_assignments", [ID_COLUMN, SEGMENT_COLUMN])
    ids = assignments[ID_COLUMN].astype(str)
    if ids.duplicated().any():
        repeated = sorted(ids[ids.duplicated()].unique())[:5]
        raise ProfileInputError(
            f"ml_customer_assignments has several rows for customer_id {repeated}"
        )
    if assignments[SEGMENT_COLUMN].isna().any():
        missing = sorted(ids[assignments[SEGMENT_COLUMN].isna()])[:5]
        raise ProfileInputError(
            f"ml_customer_assignments.segment_id is NULL for customer_id {missing}"
        )
    segments = pd.DataFrame(
        {ID_COLUMN: ids, SEGMENT_COLUMN: assignments[SEGMENT_COLUMN].astype("int64").to_numpy()}
    )
    frame = features.drop(columns=[SEGMENT_COLUMN], errors="ignore").copy()
    frame[ID_COLUMN] = frame[ID_COLUMN].astype(str)
    joined = frame.merge(segments, on=ID_COLUMN, how="inner", validate="one_to_one")
    return joined.sort_values(ID_COLUMN, kind="stable").reset_index(drop=True)


def profile_features(
    customers: pd.DataFrame, feature_names: Sequence[str] = PROFILE_FEATURE_NAMES
) -> tuple[str, ...]:
    """The profile features ``customers`` has as columns (absent ones are skipped).

    Raises :class:`ProfileInputError` when a present feature is not numeric.
    """
    present = tuple(name for name in feature_names if name in customers.columns)
    for name in present:
        values = customers[name]
        if not (pd.api.types.is_numeric_dtype(values) or values.isna().all()):
            raise ProfileInputError(
                f"fct_customer_features.{name} must be numeric, found {values.dtype}"
            )
    return present


def segment_feature_profiles(
    features: pd.DataFrame,
    assignments: pd.DataFrame,
    feature_names: Sequence[str] = PROFILE_FEATURE_NAMES,
) -> pd.DataFrame:
    """One row per segment and profile feature (table ml_segment_profiles).

    ``features`` is fct_customer_features (one row per customer), ``assignments`` has
    ``customer_id`` and ``segment_id``. Features that ``features`` lacks are left out.
    """
    customers = segmented_customers(features, assignments)
    names = profile_features(customers, feature_names)
    if customers.empty or not names:
        return empty("ml_segment_profiles")
    rows = [row for name in names for row in _feature_rows(customers, name)]
    frame = pd.DataFrame(rows)
    frame["segment_rank"] = _segment_rank(frame)
    frame["distinctiveness_rank"] = _distinctiveness_rank(frame)
    frame = frame.sort_values(["segment_id", "feature_position"], kind="stable")
    return conform(frame, "ml_segment_profiles")


def _feature_rows(customers: pd.DataFrame, name: str) -> list[dict]:
    info = FEATURES_BY_NAME.get(name, ProfileFeature(name, name.replace("_", " "), ""))
    values = pd.to_numeric(customers[name], errors="coerce").astype("float64")
    if not np.isfinite(values.dropna()).all():
        bad = customers.loc[values.notna() & ~np.isfinite(values), ID_COLUMN].head(5).tolist()
        raise ProfileInputError(f"fct_customer_features.{name} is infinite for customer_id {bad}")
    population = values.dropna()
    pop_mean = float(population.mean()) if len(population) else np.nan
    pop_median = float(population.median()) if len(population) else np.nan
    pop_std = float(population.std(ddof=0)) if len(population) else np.nan
    varies = bool(pop_std > _RELATIVE_TOLERANCE * max(1.0, abs(pop_mean)))
    rows = []
    grouped = values.groupby(customers[SEGMENT_COLUMN].to_numpy(), sort=True)
    for segment_id, segment_values in grouped:
        present = segment_values.dropna()
        mean = float(present.mean()) if len(present) else np.nan
        rows.append(
            {
                "segment_id": int(segment_id),
                "feature_name": name,
                "feature_label": info.label,
                "feature_unit": info.unit,
                "feature_position": _position(name),
                "customer_count": len(present),
                "segment_mean": mean,
                "segment_median": float(present.median()) if len(present) else np.nan,
                "population_mean": pop_mean,
                "population_median": pop_median,
                "population_std": pop_std,
                "lift": mean / pop_mean if pop_mean and np.isfinite(pop_mean) else np.nan,
                "z_score": (mean - pop_mean) / pop_std if varies else np.nan,
            }
        )
    return rows


def _position(name: str) -> int:
    if name in PROFILE_FEATURE_NAMES:
        return PROFILE_FEATURE_NAMES.index(name) + 1
    return len(PROFILE_FEATURE_NAMES) + 1


def _segment_rank(frame: pd.DataFrame) -> pd.Series:
    """Rank of each segment's mean within its feature (1 = highest; ties share the best)."""
    return frame.groupby("feature_name")["segment_mean"].rank(method="min", ascending=False)


def _distinctiveness_rank(frame: pd.DataFrame) -> pd.Series:
    """Rank of ``|z_score|`` within each segment (1 = most distinctive; ties: feature order)."""
    ordered = frame.assign(_abs=frame["z_score"].abs()).sort_values(
        ["segment_id", "_abs", "feature_position"], ascending=[True, False, True], kind="stable"
    )
    ordered = ordered[ordered["_abs"].notna()]
    ranks = ordered.groupby("segment_id").cumcount() + 1
    return ranks.reindex(frame.index)


def _require(frame: pd.DataFrame, table: str, names: Sequence[str]) -> None:
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise ProfileInputError(
            f"{table} has no column {', '.join(missing)}; columns: {list(frame.columns)}"
        )

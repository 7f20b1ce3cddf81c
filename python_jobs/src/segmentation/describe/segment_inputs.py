"""The segment profiles of the optional inputs, from the per-customer tables.

The same figures as the SQL marts ``fct_segment_engagement_profiles`` and
``fct_segment_attribute_profiles`` (kept for BI; a dbt-level pytest keeps both equal), computed
here so the Python models that cite them (personas, persona claims, feature roles) read only
per-customer tables and ``ml_customer_assignments``: the fit beside dbt
(:mod:`segmentation.warehouse_fit`) can give those, not marts built after it.

- :func:`engagement_profiles`: per segment and engagement feature, the mean over the customers
  with a value (never imputed zeros), coverage, and lift against all segmented customers.
- :func:`attribute_profiles`: per segment, attribute and category (numeric attributes are
  already categories or quartiles in ``int_customer_attributes_current``), the category's share
  among the segment's customers with a value, against the same share among all segmented
  customers with a value (lift), and the coverage of both. Categories a segment lacks have a
  zero share.

No optional input loaded: no rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmentation.config.segmentation import ENGAGEMENT_FEATURE_COLUMNS
from segmentation.describe.personas import OptionalProfiles

ENGAGEMENT_PROFILE_COLUMNS: tuple[str, ...] = (
    "segment_id",
    "feature_name",
    "feature_position",
    "segment_customers",
    "customers_with_value",
    "coverage",
    "population_coverage",
    "segment_mean",
    "population_mean",
    "lift",
)
ATTRIBUTE_PROFILE_COLUMNS: tuple[str, ...] = (
    "segment_id",
    "attribute_name",
    "attribute_type",
    "attribute_category",
    "segment_customers",
    "customers_with_attribute",
    "category_customers",
    "coverage",
    "population_coverage",
    "category_share",
    "population_share",
    "lift",
)
_COUNTS = ("segment_id", "feature_position", "segment_customers", "customers_with_value")
_ATTRIBUTE_COUNTS = (
    "segment_id",
    "segment_customers",
    "customers_with_attribute",
    "category_customers",
)


def optional_profiles(
    assignments: pd.DataFrame, engagement: pd.DataFrame, attributes: pd.DataFrame
) -> OptionalProfiles:
    """Both profiles of the segments in ``assignments`` (customer_id, segment_id)."""
    return OptionalProfiles(
        engagement=engagement_profiles(assignments, engagement),
        attributes=attribute_profiles(assignments, attributes),
    )


def engagement_profiles(assignments: pd.DataFrame, engagement: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``fct_segment_engagement_profiles`` from ``fct_customer_engagement``."""
    joined = assignments[["customer_id", "segment_id"]].merge(
        engagement, on="customer_id", how="inner"
    )
    parts = []
    for position, feature in enumerate(ENGAGEMENT_FEATURE_COLUMNS, start=1):
        if feature not in joined:
            continue
        parts.append(
            pd.DataFrame(
                {
                    "segment_id": joined["segment_id"].to_numpy(),
                    "feature_name": feature,
                    "feature_position": position,
                    "feature_value": pd.to_numeric(joined[feature], errors="coerce")
                    .astype(float)
                    .to_numpy(),
                }
            )
        )
    if not parts or joined.empty:
        return _empty(ENGAGEMENT_PROFILE_COLUMNS, _COUNTS)
    values = pd.concat(parts, ignore_index=True)
    population = values.groupby("feature_name").agg(
        population_customers=("feature_value", "size"),
        population_with_value=("feature_value", "count"),
        population_mean=("feature_value", "mean"),
    )
    population = population[population["population_with_value"] > 0]
    stats = (
        values.groupby(["segment_id", "feature_name", "feature_position"])
        .agg(
            segment_customers=("feature_value", "size"),
            customers_with_value=("feature_value", "count"),
            segment_mean=("feature_value", "mean"),
        )
        .reset_index()
        .merge(population, left_on="feature_name", right_index=True, how="inner")
    )
    stats["coverage"] = stats["customers_with_value"] / stats["segment_customers"]
    stats["population_coverage"] = stats["population_with_value"] / stats["population_customers"]
    stats["lift"] = stats["segment_mean"] / stats["population_mean"].replace(0, np.nan)
    return _typed(stats, ENGAGEMENT_PROFILE_COLUMNS, _COUNTS)


def attribute_profiles(assignments: pd.DataFrame, attributes: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``fct_segment_attribute_profiles`` from ``int_customer_attributes_current``
    (customer_id, attribute_name, attribute_type, attribute_category)."""
    segments = assignments[["customer_id", "segment_id"]]
    covered = segments.merge(
        attributes[["customer_id", "attribute_name", "attribute_type", "attribute_category"]],
        on="customer_id",
        how="inner",
    )
    if covered.empty:
        return _empty(ATTRIBUTE_PROFILE_COLUMNS, _ATTRIBUTE_COUNTS)
    sizes = segments.groupby("segment_id").size().rename("segment_customers").reset_index()
    population_customers = len(segments)
    segment_covered = (
        covered.groupby(["segment_id", "attribute_name"])
        .size()
        .rename("customers_with_attribute")
        .reset_index()
    )
    population_covered = (
        covered.groupby("attribute_name").size().rename("population_with_attribute")
    )
    segment_categories = (
        covered.groupby(["segment_id", "attribute_name", "attribute_category"])
        .size()
        .rename("category_customers")
        .reset_index()
    )
    population_categories = (
        covered.groupby(["attribute_name", "attribute_type", "attribute_category"])
        .size()
        .rename("population_category_customers")
        .reset_index()
    )
    cells = (
        sizes.merge(population_categories, how="cross")
        .merge(
            segment_categories,
            on=["segment_id", "attribute_name", "attribute_category"],
            how="left",
        )
        .merge(segment_covered, on=["segment_id", "attribute_name"], how="left")
        .merge(population_covered, left_on="attribute_name", right_index=True, how="inner")
    )
    cells["category_customers"] = cells["category_customers"].fillna(0)
    cells["customers_with_attribute"] = cells["customers_with_attribute"].fillna(0)
    with_value = cells["customers_with_attribute"].astype(float)
    cells["coverage"] = with_value / cells["segment_customers"]
    cells["population_coverage"] = cells["population_with_attribute"] / population_customers
    share = cells["category_customers"] / with_value.where(with_value > 0)
    population_share = cells["population_category_customers"] / cells["population_with_attribute"]
    cells["category_share"] = share
    cells["population_share"] = population_share
    cells["lift"] = share / population_share
    return _typed(cells, ATTRIBUTE_PROFILE_COLUMNS, _ATTRIBUTE_COUNTS)


def _typed(frame: pd.DataFrame, columns: tuple[str, ...], counts: tuple[str, ...]) -> pd.DataFrame:
    out = frame[list(columns)].reset_index(drop=True)
    for column in columns:
        if column in counts:
            out[column] = out[column].astype("int64")
        elif column in ("feature_name", "attribute_name", "attribute_type", "attribute_category"):
            out[column] = out[column].astype(object)
        else:
            out[column] = out[column].astype(float)
    return out


def _empty(columns: tuple[str, ...], counts: tuple[str, ...]) -> pd.DataFrame:
    return _typed(pd.DataFrame({column: [] for column in columns}), columns, counts)

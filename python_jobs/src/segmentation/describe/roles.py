"""Feature roles: which customer features define the segments and which only describe them.

The features that *define* segments are the model's inputs, the var ``segmentation.features``
(one place; its default is :data:`segmentation.config.segmentation.DEFAULTS`). Every other
profiled feature *describes* segments: profiles, personas and charts show it, but it does not
move the boundaries. The defaults follow meaning and robustness: value, frequency, recency,
tenure, breadth, basket value and cadence define; zero-inflated shares (most customers at 0,
and 0 or 1 by chance for customers with one or two orders) and unit-based features (units mean
a metre of ribbon here and a gallon of fuel there) describe. :data:`ROLE_REASONS` says why, per
feature; the table ``ml_feature_roles`` records each feature's role in the kept model, the
reason and the measured facts behind it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from segmentation.config.segmentation import SegmentationSettings, indicator_prefix
from segmentation.describe.profiles import (
    DEFINING,
    DESCRIBING,
    FEATURES_BY_NAME,
    PROFILE_FEATURE_NAMES,
)
from segmentation.io.tables import conform, empty
from segmentation.io.values import python_scalar

VERBS = {DEFINING: "defines", DESCRIBING: "describes"}

# Why each feature has its default role (the first word says which).
ROLE_REASONS: dict[str, str] = {
    "recency_days": "defines: recency, how lately the customer bought (RFM's R)",
    "frequency_orders": "defines: frequency, how often the customer buys (RFM's F)",
    "monetary_amount": "defines: value, the customer's net revenue (RFM's M)",
    "tenure_days": "defines: tenure, how long the customer has been buying",
    "avg_order_value": "defines: basket size in money, comparable across products and units",
    "distinct_products": "defines: breadth, how many different products the customer buys",
    "mean_days_between_orders": (
        "defines: cadence, the usual gap between orders (at least the recency for one-order "
        "customers)"
    ),
    "avg_items_per_order": (
        "describes: counts units, and a unit is a piece for one product and a metre or a gallon "
        "for another, so unit-of-measure lines would decide segments"
    ),
    "avg_unit_price": (
        "describes: a price per unit, moved by unit-of-measure lines as much as by what the "
        "customer chooses"
    ),
    "cancellation_rate": (
        "describes: zero-inflated (most customers never cancel), so a zero/non-zero split "
        "would dominate the distances"
    ),
    "weekend_order_share": (
        "describes: a timing share, 0 or 1 by chance for customers with one or two orders"
    ),
    "evening_order_share": (
        "describes: a timing share, 0 or 1 by chance for customers with one or two orders "
        "(and 0 for everyone when the log has dates without times)"
    ),
    "active_months": "describes: grows with tenure and frequency, which define segments already",
    "country_count": "describes: almost every customer buys from one country",
    "q4_revenue_share": (
        "describes: a timing share, 0 or 1 for one-order customers; shows seasonality"
    ),
}
ROLE_CHANGED = "set by the var segmentation.features"
# The optional inputs (rows only when they are loaded).
ENGAGEMENT_REASON = (
    "describes: engagement (optional input, partial coverage); to let it define segments set "
    "the var engagement_feature_role: define and list it in segmentation.features"
)
ATTRIBUTE_REASON = (
    "describes: a customer attribute (optional input, partial coverage); to let it define "
    "segments name it in the var segmentation.categorical_attributes with a weight"
)
ATTRIBUTE_DEFINING_REASON = (
    "defines: set by the var segmentation.categorical_attributes; each category is a 0/1 model "
    "input, and a customer without the attribute sits half-way between the categories"
)


def kept_model_roles(model: pd.DataFrame) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """The kept model's defining features and attributes (its settings), its inputs after
    pruning (``features_used``) and its version, from ml_segment_model (empty without a
    model)."""
    if model.empty:
        return (), (), None
    row = {key: python_scalar(value) for key, value in model.iloc[0].to_dict().items()}
    prep = SegmentationSettings.from_mapping(row.get("settings_json")).preparation
    used = tuple(json.loads(row.get("features_used") or "[]"))
    attributes = tuple(name for name, _ in prep.categorical_attributes)
    return (*prep.features, *attributes), used, row.get("model_version_id")


def default_role(feature: str) -> str:
    """The role :data:`ROLE_REASONS` gives ``feature`` (describing when it is not listed)."""
    reason = ROLE_REASONS.get(feature, "")
    return DEFINING if reason.startswith(VERBS[DEFINING]) else DESCRIBING


def feature_roles(
    features: pd.DataFrame,
    defining: Sequence[str],
    model_inputs: Sequence[str] = (),
    model_version_id: str | None = None,
    optional: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """One row per profiled feature of ``features`` (ml_feature_roles): its role in the model
    whose defining features are ``defining`` and whose inputs (after pruning correlated and
    constant features) are ``model_inputs``, why, and the facts a role depends on.

    ``optional`` holds the segment engagement and attribute profiles: every engagement feature
    and attribute they cover that is not a model input adds a describing row (missing share
    from its coverage); empty profiles add nothing."""
    names = [name for name in PROFILE_FEATURE_NAMES if name in features.columns]
    extra = [name for name in defining if name in features.columns and name not in names]
    if features.empty or not (names or extra):
        return empty("ml_feature_roles")
    rows = []
    for position, name in enumerate([*names, *extra], start=1):
        values = pd.to_numeric(features[name], errors="coerce").to_numpy(dtype=float)
        present = values[~np.isnan(values)]
        role = DEFINING if name in defining else DESCRIBING
        reason = ROLE_REASONS.get(name, "")
        if role != default_role(name) or not reason:
            default = f" (default: {reason})" if reason else ""
            reason = f"{VERBS[role]}: {ROLE_CHANGED}{default}"
        info = FEATURES_BY_NAME.get(name)
        rows.append(
            {
                "model_version_id": model_version_id,
                "feature_name": name,
                "feature_label": info.label if info else name.replace("_", " "),
                "feature_position": position,
                "feature_role": role,
                "is_model_input": name in model_inputs,
                "role_reason": reason,
                "missing_share": float(np.isnan(values).mean()) if values.size else None,
                "zero_share": float(np.mean(present == 0)) if present.size else None,
            }
        )
    if optional is not None:
        taken = {row["feature_name"] for row in rows}
        rows += _optional_rows(*optional, taken, defining, model_inputs, model_version_id)
    return conform(rows, "ml_feature_roles")


def _optional_rows(
    engagement: pd.DataFrame,
    attributes: pd.DataFrame,
    taken: set[str],
    defining: Sequence[str],
    model_inputs: Sequence[str],
    model_version_id: str | None,
) -> list[dict]:
    """Rows of the engagement features and attributes the profiles cover: describing, but for
    the attributes of segmentation.categorical_attributes (``defining``), whose categories are
    model inputs when one of them is in ``model_inputs``."""
    coverage: list[tuple[str, str, float]] = []
    for frame, column, reason in (
        (engagement, "feature_name", ENGAGEMENT_REASON),
        (attributes, "attribute_name", ATTRIBUTE_REASON),
    ):
        if frame is None or frame.empty:
            continue
        shares = frame.groupby(column, sort=False)["population_coverage"].max()
        coverage += [(str(name), reason, float(share)) for name, share in shares.items()]
    rows = []
    for position, (name, reason, share) in enumerate(
        [item for item in coverage if item[0] not in taken], start=1
    ):
        defines = reason == ATTRIBUTE_REASON and name in defining
        prefix = indicator_prefix(name)
        rows.append(
            {
                "model_version_id": model_version_id,
                "feature_name": name,
                "feature_label": name.replace("_", " "),
                "feature_position": len(taken) + position,
                "feature_role": DEFINING if defines else DESCRIBING,
                "is_model_input": defines and any(i.startswith(prefix) for i in model_inputs),
                "role_reason": ATTRIBUTE_DEFINING_REASON if defines else reason,
                "missing_share": 1.0 - share,
                "zero_share": None,
            }
        )
    return rows

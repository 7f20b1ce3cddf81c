"""One readable rule per segment: at most three conditions on the defining features.

For each segment a shallow one-vs-rest decision tree (depth :data:`MAX_CONDITIONS`, balanced
class weights so a small segment counts as much as the rest, leaves of at least
``min_leaf_share`` of the customers) separates its customers from everyone else's; beyond
``fit_sample_size`` customers the trees are fitted on a stratified sample of that many
(:func:`segmentation.describe.explain.fit_rows`), and every rule is still measured on all.
The leaf with the best F1 score for the segment becomes its rule: the conditions on the path from
the root, merged per feature (``orders 4 to 9`` is one condition), so a rule never has more than
three. Thresholds are rounded for reading (:func:`segmentation.describe.explain.rounded`), and the
rule's precision (share of the customers it selects who are in the segment) and coverage (share of
the segment it selects) are measured with the rounded thresholds, as a marketer would apply them in
a query.

The rules describe the segments; they do not assign them (the kept model does).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from segmentation.describe.explain import (
    FIT_SAMPLE_SIZE,
    MIN_LEAF_SHARE,
    Bounds,
    condition_text,
    fit_rows,
    leaf_minimum,
    numeric_matrix,
    path_bounds,
    rounded_bounds,
)
from segmentation.describe.profiles import SEGMENT_COLUMN, profile_features, segmented_customers
from segmentation.io.tables import conform, empty

MAX_CONDITIONS = 3


@dataclass(frozen=True)
class SegmentRule:
    """A segment's rule: conditions per feature, and how well it picks the segment out."""

    segment_id: int
    bounds: dict[str, Bounds]
    selected: int  # customers the rule selects
    hits: int  # of them, customers of the segment
    members: int  # customers of the segment

    @property
    def precision(self) -> float:
        return self.hits / self.selected if self.selected else 0.0

    @property
    def coverage(self) -> float:
        return self.hits / self.members if self.members else 0.0

    def text(self) -> str:
        parts = [condition_text(name, bound) for name, bound in self.bounds.items()]
        return " and ".join(parts) if parts else "all customers"

    def conditions_json(self) -> str:
        return json.dumps(
            [{"feature_name": name, **asdict(bound)} for name, bound in self.bounds.items()]
        )


def selects(table: pd.DataFrame, bounds: dict[str, Bounds]) -> np.ndarray:
    """Which rows of ``table`` meet every condition of ``bounds``."""
    keep = np.ones(len(table), dtype=bool)
    for name, bound in bounds.items():
        values = table[name].to_numpy(dtype="float64")
        missing = np.isnan(values)
        if bound.missing == "only":
            keep &= missing
            continue
        inside = ~missing
        with np.errstate(invalid="ignore"):
            if bound.lower is not None:
                inside &= values > bound.lower
            if bound.upper is not None:
                inside &= values <= bound.upper
        if bound.missing == "allowed":
            inside |= missing
        keep &= inside
    return keep


def fit_segment_rule(
    table: pd.DataFrame,
    labels: np.ndarray,
    segment_id: int,
    min_leaf_share: float = MIN_LEAF_SHARE,
    random_state: int = 0,
    fit_on: np.ndarray | None = None,
) -> SegmentRule:
    """The best rule of at most :data:`MAX_CONDITIONS` conditions for ``segment_id``: the tree
    is fitted on the rows ``fit_on`` (positions; all rows when None), each leaf's rule is
    measured on all rows."""
    matrix = numeric_matrix(table)
    target = labels == segment_id
    fitted = matrix if fit_on is None else matrix[fit_on]
    min_leaf = leaf_minimum(min_leaf_share, fitted.shape[0])
    tree = DecisionTreeClassifier(
        max_depth=MAX_CONDITIONS,
        min_samples_leaf=min_leaf,
        class_weight="balanced",
        random_state=random_state,
    ).fit(fitted, target if fit_on is None else target[fit_on])
    names = [str(name) for name in table.columns]
    has_missing = [bool(np.isnan(matrix[:, j]).any()) for j in range(matrix.shape[1])]
    best: SegmentRule | None = None
    best_f1 = -1.0
    for leaf in np.unique(tree.apply(fitted)):
        bounds = {
            names[j]: rounded_bounds(names[j], bound)
            for j, bound in sorted(path_bounds(tree, int(leaf), has_missing).items())
        }
        chosen = selects(table, bounds)
        rule = SegmentRule(
            segment_id,
            bounds,
            int(chosen.sum()),
            int((chosen & target).sum()),
            int(target.sum()),
        )
        f1 = _f1(rule)
        if f1 > best_f1:
            best, best_f1 = rule, f1
    assert best is not None  # a fitted tree has at least one leaf
    return best


def _f1(rule: SegmentRule) -> float:
    total = rule.precision + rule.coverage
    return 2 * rule.precision * rule.coverage / total if total else 0.0


def segment_rules(
    features: pd.DataFrame,
    assignments: pd.DataFrame,
    feature_names: Sequence[str],
    random_state: int = 0,
    fit_sample_size: int = FIT_SAMPLE_SIZE,
) -> pd.DataFrame:
    """One row per segment: its rule on the defining features (ml_segment_explanation_rules),
    the trees fitted on at most ``fit_sample_size`` customers."""
    customers = segmented_customers(features, assignments)
    names = [
        name for name in profile_features(customers, feature_names) if customers[name].notna().any()
    ]
    if customers.empty or not names:
        return empty("ml_segment_explanation_rules")
    table = customers[names].astype("float64")
    labels = customers[SEGMENT_COLUMN].to_numpy(dtype="int64")
    fitted_on = fit_rows(labels, fit_sample_size, random_state)
    rows = []
    for segment_id in np.unique(labels):
        rule = fit_segment_rule(
            table, labels, int(segment_id), random_state=random_state, fit_on=fitted_on
        )
        rows.append(
            {
                "segment_id": int(segment_id),
                "rule_text": rule.text(),
                "condition_count": len(rule.bounds),
                "conditions_json": rule.conditions_json(),
                "customer_count": rule.selected,
                "segment_customer_count": rule.hits,
                "rule_precision": rule.precision,
                "rule_coverage": rule.coverage,
            }
        )
    return conform(rows, "ml_segment_explanation_rules")

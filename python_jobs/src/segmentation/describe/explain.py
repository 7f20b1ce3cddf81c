"""Explaining segments with a shallow surrogate decision tree.

A :class:`SegmentExplainer` fits a small scikit-learn decision tree that predicts each customer's
segment from the original features (days, orders, money, shares; NULLs are allowed and routed by
the tree). Every leaf becomes a readable rule ("orders >= 4 and net revenue > 1,250"), written
for the segment most of its customers belong to. Its *fidelity* is the share of customers whose
segment the tree predicts correctly, on all customers and under stratified cross-validation (a
fresh tree per fold, so the figure is not flattered by the fit).

The tree is a description of the clustering, not the clustering itself: segments are assigned by
the kept model, and a segment no leaf predicts is reported as not explained by the tree.

dbt tables (models/ml/personas):

- ``ml_segment_explanation_rules``: one row per leaf (:func:`explanation_rules`);
- ``ml_segment_explanation_fit``: one row with fidelity and tree settings
  (:func:`explanation_fit`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import resample

from segmentation.describe.profiles import (
    FEATURES_BY_NAME,
    SEGMENT_COLUMN,
    profile_features,
    segmented_customers,
)
from segmentation.io.tables import conform, empty

DEFAULT_MAX_DEPTH = 4
MAX_MAX_DEPTH = 8
# Each leaf holds at least this share of customers (and at least one), so no rule describes a
# handful of outliers.
MIN_LEAF_SHARE = 0.01
CV_FOLDS = 5
# Customers the cross-validated fidelity splits at most (a seeded stratified sample beyond): the
# estimate's cost stays bounded however many customers there are, like the evaluation's
# samples (evaluation_settings.py); a shallow tree's held-out accuracy is settled long before.
CV_SAMPLE_SIZE = 20_000
MIN_CV_SAMPLE_SIZE = 100


class ExplanationInputError(ValueError):
    """The surrogate tree cannot be fitted; the message names the input and the cause."""


@dataclass(frozen=True)
class _Bounds:
    """What a path through the tree says about one feature."""

    lower: float | None = None  # value > lower
    upper: float | None = None  # value <= upper
    # NULLs: None (the feature has none), "allowed" (they follow this path too), "excluded"
    # (only customers with a value) or "only" (only customers without one)
    missing: str | None = None


class SegmentExplainer:
    """A shallow decision tree that predicts the segment from the original features.

    Parameters follow scikit-learn: ``max_depth`` (levels of questions), ``min_leaf_share``
    (smallest leaf as a share of customers) and ``random_state``. After :meth:`fit`:
    ``tree_`` (the fitted DecisionTreeClassifier), ``feature_names_``, ``fidelity_`` (accuracy
    against the assignments on all customers), ``rules_`` (one row per leaf, columns
    ml_segment_explanation_rules) and ``n_segments_``.
    """

    def __init__(
        self,
        max_depth: int = DEFAULT_MAX_DEPTH,
        min_leaf_share: float = MIN_LEAF_SHARE,
        random_state: int = 0,
    ) -> None:
        self.max_depth = max_depth
        self.min_leaf_share = min_leaf_share
        self.random_state = random_state

    def fit(self, features: pd.DataFrame, segment_ids: Sequence[int]) -> SegmentExplainer:
        """Fit the tree on ``features`` (one numeric column per feature) and segment ids."""
        self._check_params()
        labels = np.asarray(segment_ids, dtype="int64")
        if len(features) != len(labels):
            raise ExplanationInputError(f"{len(features)} customers but {len(labels)} segment ids")
        if len(labels) == 0:
            raise ExplanationInputError("no customers to explain")
        matrix = _matrix(features)
        self.feature_names_ = tuple(str(name) for name in features.columns)
        self.has_missing_ = tuple(
            bool(np.isnan(matrix[:, j]).any()) for j in range(matrix.shape[1])
        )
        self.min_samples_leaf_ = max(1, math.ceil(self.min_leaf_share * len(labels)))
        self.tree_ = self._new_tree().fit(matrix, labels)
        self.n_segments_ = len(np.unique(labels))
        self.fidelity_ = float(np.mean(self.tree_.predict(matrix) == labels))
        self.rules_ = self._rules(matrix, labels)
        return self

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """The segment the tree predicts for each row of ``features``."""
        return self.tree_.predict(_matrix(features[list(self.feature_names_)]))

    def cross_validated_fidelity(
        self,
        features: pd.DataFrame,
        segment_ids: Sequence[int],
        sample_size: int = CV_SAMPLE_SIZE,
    ) -> float:
        """Mean held-out accuracy of fresh trees over stratified folds (NaN if a segment is
        too small to split).

        On more than ``sample_size`` customers the folds split a stratified sample of that
        many, drawn with ``random_state``, and the smallest leaf keeps its share of the sample.
        """
        labels = np.asarray(segment_ids, dtype="int64")
        matrix = _matrix(features)
        min_samples_leaf = self.min_samples_leaf_
        if len(labels) > sample_size:
            matrix, labels = resample(
                matrix,
                labels,
                replace=False,
                n_samples=sample_size,
                stratify=labels,
                random_state=self.random_state,
            )
            min_samples_leaf = max(1, math.ceil(self.min_leaf_share * sample_size))
        smallest = int(np.unique(labels, return_counts=True)[1].min()) if len(labels) else 0
        folds = min(CV_FOLDS, smallest)
        if folds < 2:
            return math.nan
        splitter = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
        correct = 0
        for train, test in splitter.split(matrix, labels):
            tree = self._new_tree(min_samples_leaf).fit(matrix[train], labels[train])
            correct += int(np.sum(tree.predict(matrix[test]) == labels[test]))
        return correct / len(labels)

    def leaf_rule(self, leaf: int) -> tuple[str, int]:
        """Readable conditions leading to ``leaf`` and how many there are."""
        bounds = self._path_bounds(leaf)
        parts = [
            _condition_text(self.feature_names_[j], bound) for j, bound in sorted(bounds.items())
        ]
        return (" and ".join(parts) if parts else "all customers"), len(parts)

    # -- internals --------------------------------------------------------------------------

    def _check_params(self) -> None:
        if not isinstance(self.max_depth, int) or not 1 <= self.max_depth <= MAX_MAX_DEPTH:
            raise ExplanationInputError(
                f"max_depth must be a whole number from 1 to {MAX_MAX_DEPTH}, got "
                f"{self.max_depth!r}"
            )
        if not 0 < self.min_leaf_share < 0.5:
            raise ExplanationInputError(
                f"min_leaf_share must lie in (0, 0.5), got {self.min_leaf_share!r}"
            )

    def _new_tree(self, min_samples_leaf: int | None = None) -> DecisionTreeClassifier:
        return DecisionTreeClassifier(
            max_depth=self.max_depth,
            min_samples_leaf=min_samples_leaf or self.min_samples_leaf_,
            random_state=self.random_state,
        )

    def _rules(self, matrix: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
        leaves = self.tree_.apply(matrix)
        predicted = self.tree_.predict(matrix)
        sizes = pd.Series(labels).value_counts()
        rows = []
        for leaf in np.unique(leaves):
            inside = leaves == leaf
            segment = int(predicted[inside][0])
            hits = int(np.sum(labels[inside] == segment))
            text, count = self.leaf_rule(int(leaf))
            rows.append(
                {
                    "leaf_id": int(leaf),
                    "segment_id": segment,
                    "rule_text": text,
                    "condition_count": count,
                    "customer_count": int(inside.sum()),
                    "segment_customer_count": hits,
                    "rule_precision": hits / int(inside.sum()),
                    "rule_coverage": hits / int(sizes[segment]),
                }
            )
        frame = pd.DataFrame(rows).sort_values(
            ["segment_id", "rule_coverage", "leaf_id"], ascending=[True, False, True]
        )
        return conform(frame, "ml_segment_explanation_rules")

    def _path_bounds(self, leaf: int) -> dict[int, _Bounds]:
        tree = self.tree_.tree_
        parent: dict[int, tuple[int, bool]] = {}
        for node in range(tree.node_count):
            if tree.children_left[node] != -1:
                parent[int(tree.children_left[node])] = (node, True)
                parent[int(tree.children_right[node])] = (node, False)
        steps = []
        node = leaf
        while node in parent:
            node, went_left = parent[node]
            steps.append((node, went_left))
        bounds: dict[int, _Bounds] = {}
        missing_left = getattr(tree, "missing_go_to_left", None)
        for node, went_left in reversed(steps):
            j = int(tree.feature[node])
            threshold = float(tree.threshold[node])
            old = bounds.get(j, _Bounds(missing="allowed" if self.has_missing_[j] else None))
            lower, upper, missing = old.lower, old.upper, old.missing
            if math.isinf(threshold):
                # a split of customers with a value (left) from those without one (right)
                missing = "excluded" if went_left else "only"
            else:
                if went_left:
                    upper = threshold if upper is None else min(upper, threshold)
                else:
                    lower = threshold if lower is None else max(lower, threshold)
                nulls_follow = missing_left is not None and bool(missing_left[node]) == went_left
                if missing == "allowed" and not nulls_follow:
                    missing = "excluded"
            bounds[j] = _Bounds(lower, upper, missing)
        return bounds


def _matrix(features: pd.DataFrame) -> np.ndarray:
    try:
        matrix = features.apply(pd.to_numeric, errors="raise").to_numpy(dtype="float64")
    except (ValueError, TypeError) as error:
        raise ExplanationInputError(f"surrogate tree features must be numeric: {error}") from error
    if np.isinf(matrix).any():
        column = features.columns[np.where(np.isinf(matrix).any(axis=0))[0][0]]
        raise ExplanationInputError(f"feature {column} has infinite values")
    return matrix


def _condition_text(feature: str, bound: _Bounds) -> str:
    info = FEATURES_BY_NAME.get(feature)
    label = info.label if info else feature.replace("_", " ")
    missing_text = info.missing_text if info else "no value"
    whole = bool(info and info.is_whole)
    unit = info.unit if info else ""
    if bound.missing == "only":
        return missing_text
    if bound.lower is None and bound.upper is None:
        return info.present_text if info else f"{label} known"
    if whole:
        low = None if bound.lower is None else math.floor(bound.lower) + 1
        high = None if bound.upper is None else math.floor(bound.upper)
        if low is not None and high is not None:
            text = f"{label} {low}" if low == high else f"{label} {low} to {high}"
        elif low is not None:
            text = f"{label} ≥ {low}"
        else:
            text = f"{label} ≤ {high}"
    else:
        parts = []
        if bound.lower is not None:
            parts.append(f"> {_number(bound.lower, unit)}")
        if bound.upper is not None:
            parts.append(f"≤ {_number(bound.upper, unit)}")
        text = f"{label} {' and '.join(parts)}"
    if bound.missing == "allowed":
        return f"({text} or {missing_text})"
    return text


def _number(value: float, unit: str) -> str:
    if unit == "share":
        return f"{_rounded(value * 100)}%"
    return _rounded(value)


def _rounded(value: float) -> str:
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


# --------------------------------------------------------------------------------------------
# dbt tables
# --------------------------------------------------------------------------------------------


def fit_explainer(
    features: pd.DataFrame,
    assignments: pd.DataFrame,
    feature_names: Sequence[str],
    max_depth: int = DEFAULT_MAX_DEPTH,
    random_state: int = 0,
) -> tuple[SegmentExplainer, pd.DataFrame, np.ndarray] | None:
    """The fitted explainer, its feature table and labels; None when there are no customers.

    Features of ``feature_names`` that are absent or entirely NULL are left out.
    """
    customers = segmented_customers(features, assignments)
    if customers.empty:
        return None
    names = [
        name for name in profile_features(customers, feature_names) if customers[name].notna().any()
    ]
    if not names:
        raise ExplanationInputError(
            f"none of the features {list(feature_names)} has a value in fct_customer_features"
        )
    table = customers[names].astype("float64")
    labels = customers[SEGMENT_COLUMN].to_numpy(dtype="int64")
    explainer = SegmentExplainer(max_depth=max_depth, random_state=random_state)
    return explainer.fit(table, labels), table, labels


def explanation_rules(
    features: pd.DataFrame,
    assignments: pd.DataFrame,
    feature_names: Sequence[str],
    max_depth: int = DEFAULT_MAX_DEPTH,
    random_state: int = 0,
) -> pd.DataFrame:
    """One row per leaf of the surrogate tree (columns: ml_segment_explanation_rules)."""
    fitted = fit_explainer(features, assignments, feature_names, max_depth, random_state)
    if fitted is None:
        return empty("ml_segment_explanation_rules")
    return fitted[0].rules_


def explanation_fit(
    features: pd.DataFrame,
    assignments: pd.DataFrame,
    feature_names: Sequence[str],
    max_depth: int = DEFAULT_MAX_DEPTH,
    random_state: int = 0,
    cv_sample_size: int = CV_SAMPLE_SIZE,
) -> pd.DataFrame:
    """One row describing the surrogate tree and its fidelity (ml_segment_explanation_fit); the
    cross-validated fidelity splits at most ``cv_sample_size`` customers."""
    if cv_sample_size < MIN_CV_SAMPLE_SIZE:
        raise ExplanationInputError(
            f"explanation_cv_sample_size must be at least {MIN_CV_SAMPLE_SIZE},"
            f" got {cv_sample_size}"
        )
    fitted = fit_explainer(features, assignments, feature_names, max_depth, random_state)
    if fitted is None:
        return empty("ml_segment_explanation_fit")
    explainer, table, labels = fitted
    tree = explainer.tree_
    importances = {
        name: round(float(value), 4)
        for name, value in sorted(
            zip(explainer.feature_names_, tree.feature_importances_, strict=True),
            key=lambda item: -item[1],
        )
        if round(float(value), 4) > 0
    }
    row = {
        "n_customers": len(labels),
        "n_segments": explainer.n_segments_,
        "explained_segment_count": int(explainer.rules_["segment_id"].nunique()),
        "max_depth": explainer.max_depth,
        "tree_depth": int(tree.get_depth()),
        "leaf_count": int(tree.get_n_leaves()),
        "min_samples_leaf": explainer.min_samples_leaf_,
        "features_offered": ", ".join(explainer.feature_names_),
        "features_used": ", ".join(importances),
        "feature_importances": json.dumps(importances),
        "fidelity": explainer.fidelity_,
        "cross_validated_fidelity": explainer.cross_validated_fidelity(
            table, labels, cv_sample_size
        ),
        "cross_validation_customers": min(len(labels), cv_sample_size),
        "random_state": explainer.random_state,
    }
    return conform([row], "ml_segment_explanation_fit")

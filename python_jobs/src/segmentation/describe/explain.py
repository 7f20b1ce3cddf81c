"""How faithfully a shallow decision tree reproduces the segments, and the readable conditions
both it and the per-segment rules (:mod:`segmentation.describe.rules`) are written in.

A :class:`SegmentExplainer` fits a scikit-learn decision tree that predicts each customer's
segment from the original features (days, orders, money, shares; NULLs are allowed and routed by
the tree). Its *fidelity* is the share of customers whose segment the tree predicts correctly,
on all customers and under stratified cross-validation (a fresh tree per fold, so the figure is
not flattered by the fit): how far the segments can be told apart by thresholds at all. The
readable rule of each segment is a separate, shallower tree (rules.py).

The tree is a description of the clustering, not the clustering itself: segments are assigned by
the kept model.

dbt table (models/ml/personas): ``ml_segment_explanation_fit``, one row with fidelity and tree
settings (:func:`explanation_fit`).
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
# Customers a tree (the surrogate tree, each segment's rule tree) is fitted on at most (a seeded
# stratified sample beyond; var explanation_fit_sample_size). A shallow tree's thresholds are
# settled long before (each leaf holds at least 1 % of the sample); at a million customers the
# rules and the surrogate tree took 26 s of node time in a 50M-line daily build fitted on all,
# 12 s fitted on 200,000. What a tree is reported with (fidelity, a rule's precision and
# coverage) is always measured on every customer.
FIT_SAMPLE_SIZE = 200_000
MIN_FIT_SAMPLE_SIZE = 1_000


class ExplanationInputError(ValueError):
    """The surrogate tree cannot be fitted; the message names the input and the cause."""


def leaf_minimum(leaf_share: float, customers: int) -> int:
    """The smallest leaf a tree fitted on ``customers`` customers may have: ``leaf_share`` of
    them, rounded up, at least 1."""
    return max(1, math.ceil(leaf_share * customers))


def fit_rows(labels: np.ndarray, sample_size: int, random_state: int) -> np.ndarray:
    """Positions (ascending) of the customers a tree is fitted on: all of them when there are at
    most ``sample_size``, else a sample of that many, stratified by segment (every segment
    keeps its share) and drawn with ``random_state``."""
    if sample_size < MIN_FIT_SAMPLE_SIZE:
        raise ExplanationInputError(
            f"explanation_fit_sample_size must be at least {MIN_FIT_SAMPLE_SIZE:,}, got "
            f"{sample_size}"
        )
    positions = np.arange(len(labels))
    if len(labels) <= sample_size:
        return positions
    drawn = resample(
        positions,
        replace=False,
        n_samples=sample_size,
        stratify=labels,
        random_state=random_state,
    )
    return np.sort(drawn)


@dataclass(frozen=True)
class Bounds:
    """What a path through the tree says about one feature."""

    lower: float | None = None  # value > lower
    upper: float | None = None  # value <= upper
    # NULLs: None (the feature has none), "allowed" (they follow this path too), "excluded"
    # (only customers with a value) or "only" (only customers without one)
    missing: str | None = None


class SegmentExplainer:
    """A shallow decision tree that predicts the segment from the original features.

    Parameters follow scikit-learn: ``max_depth`` (levels of questions), ``min_leaf_share``
    (smallest leaf as a share of the customers it is fitted on), ``random_state`` and
    ``fit_sample_size`` (customers fitted on at most, see :func:`fit_rows`). After :meth:`fit`:
    ``tree_`` (the fitted DecisionTreeClassifier), ``feature_names_``, ``fit_customers_``,
    ``fidelity_`` (accuracy against the assignments on all customers) and ``n_segments_``.
    """

    def __init__(
        self,
        max_depth: int = DEFAULT_MAX_DEPTH,
        min_leaf_share: float = MIN_LEAF_SHARE,
        random_state: int = 0,
        fit_sample_size: int = FIT_SAMPLE_SIZE,
    ) -> None:
        self.max_depth = max_depth
        self.min_leaf_share = min_leaf_share
        self.random_state = random_state
        self.fit_sample_size = fit_sample_size

    def fit(self, features: pd.DataFrame, segment_ids: Sequence[int]) -> SegmentExplainer:
        """Fit the tree on ``features`` (one numeric column per feature) and segment ids, or on
        a stratified sample of them (``fit_sample_size``); fidelity counts every customer."""
        self._check_params()
        labels = np.asarray(segment_ids, dtype="int64")
        if len(features) != len(labels):
            raise ExplanationInputError(f"{len(features)} customers but {len(labels)} segment ids")
        if len(labels) == 0:
            raise ExplanationInputError("no customers to explain")
        matrix = numeric_matrix(features)
        self.feature_names_ = tuple(str(name) for name in features.columns)
        self.has_missing_ = tuple(
            bool(np.isnan(matrix[:, j]).any()) for j in range(matrix.shape[1])
        )
        rows = fit_rows(labels, self.fit_sample_size, self.random_state)
        self.fit_customers_ = int(rows.size)
        self.min_samples_leaf_ = leaf_minimum(self.min_leaf_share, rows.size)
        self.tree_ = self._new_tree().fit(matrix[rows], labels[rows])
        self.n_segments_ = len(np.unique(labels))
        self.fidelity_ = float(np.mean(self.tree_.predict(matrix) == labels))
        return self

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """The segment the tree predicts for each row of ``features``."""
        return self.tree_.predict(numeric_matrix(features[list(self.feature_names_)]))

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
        matrix = numeric_matrix(features)
        if len(labels) > sample_size:
            matrix, labels = resample(
                matrix,
                labels,
                replace=False,
                n_samples=sample_size,
                stratify=labels,
                random_state=self.random_state,
            )
        # the folds' trees keep the leaf share of the customers they split
        min_samples_leaf = leaf_minimum(self.min_leaf_share, len(labels))
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


def path_bounds(
    tree: DecisionTreeClassifier, leaf: int, has_missing: Sequence[bool]
) -> dict[int, Bounds]:
    """What the path from the root to ``leaf`` says about each feature (by column index);
    ``has_missing[j]``: whether feature j has NULLs at all."""
    nodes = tree.tree_
    parent: dict[int, tuple[int, bool]] = {}
    for node in range(nodes.node_count):
        if nodes.children_left[node] != -1:
            parent[int(nodes.children_left[node])] = (node, True)
            parent[int(nodes.children_right[node])] = (node, False)
    steps = []
    node = leaf
    while node in parent:
        node, went_left = parent[node]
        steps.append((node, went_left))
    bounds: dict[int, Bounds] = {}
    missing_left = getattr(nodes, "missing_go_to_left", None)
    for node, went_left in reversed(steps):
        j = int(nodes.feature[node])
        threshold = float(nodes.threshold[node])
        old = bounds.get(j, Bounds(missing="allowed" if has_missing[j] else None))
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
        bounds[j] = Bounds(lower, upper, missing)
    return bounds


def numeric_matrix(features: pd.DataFrame) -> np.ndarray:
    """The features as a float matrix (NULL as NaN); non-numeric or infinite values raise
    :class:`ExplanationInputError` naming the column."""
    try:
        matrix = features.apply(pd.to_numeric, errors="raise").to_numpy(dtype="float64")
    except (ValueError, TypeError) as error:
        raise ExplanationInputError(f"surrogate tree features must be numeric: {error}") from error
    if np.isinf(matrix).any():
        column = features.columns[np.where(np.isinf(matrix).any(axis=0))[0][0]]
        raise ExplanationInputError(f"feature {column} has infinite values")
    return matrix


def rounded_bounds(feature: str, bound: Bounds) -> Bounds:
    """``bound`` with its thresholds rounded as :func:`condition_text` shows them, so a rule
    applied with the printed numbers selects exactly the customers it is measured on."""
    info = FEATURES_BY_NAME.get(feature)
    if info and info.is_whole:

        def whole(value: float | None) -> float | None:
            return None if value is None else float(math.floor(value))

        return Bounds(whole(bound.lower), whole(bound.upper), bound.missing)
    unit = info.unit if info else ""

    def shown(value: float | None) -> float | None:
        if value is None:
            return None
        if unit == "share":
            return float(rounded(value * 100).replace(",", "")) / 100
        return float(rounded(value).replace(",", ""))

    return Bounds(shown(bound.lower), shown(bound.upper), bound.missing)


def condition_text(feature: str, bound: Bounds) -> str:
    """One condition for people, in the feature's unit (e.g. ``orders 4 to 9``)."""
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
        return f"{rounded(value * 100)}%"
    return rounded(value)


def rounded(value: float) -> str:
    """A threshold for reading: whole above 100, one decimal above 10, else two."""
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
    fit_sample_size: int = FIT_SAMPLE_SIZE,
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
    explainer = SegmentExplainer(
        max_depth=max_depth, random_state=random_state, fit_sample_size=fit_sample_size
    )
    return explainer.fit(table, labels), table, labels


def explanation_fit(
    features: pd.DataFrame,
    assignments: pd.DataFrame,
    feature_names: Sequence[str],
    max_depth: int = DEFAULT_MAX_DEPTH,
    random_state: int = 0,
    cv_sample_size: int = CV_SAMPLE_SIZE,
    fit_sample_size: int = FIT_SAMPLE_SIZE,
) -> pd.DataFrame:
    """One row describing the surrogate tree and its fidelity (ml_segment_explanation_fit); the
    tree is fitted on at most ``fit_sample_size`` customers, the cross-validated fidelity
    splits at most ``cv_sample_size``."""
    if cv_sample_size < MIN_CV_SAMPLE_SIZE:
        raise ExplanationInputError(
            f"explanation_cv_sample_size must be at least {MIN_CV_SAMPLE_SIZE},"
            f" got {cv_sample_size}"
        )
    fitted = fit_explainer(
        features, assignments, feature_names, max_depth, random_state, fit_sample_size
    )
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
        "fit_customers": explainer.fit_customers_,
        "n_segments": explainer.n_segments_,
        "explained_segment_count": int(np.unique(tree.predict(table.to_numpy())).size),
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

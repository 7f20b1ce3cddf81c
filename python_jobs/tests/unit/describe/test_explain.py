"""The surrogate decision tree (segmentation.describe.explain) and the readable per-segment rules
written in its conditions (segmentation.describe.rules), on small synthetic customers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from segmentation.describe.explain import (
    ExplanationInputError,
    SegmentExplainer,
    explanation_fit,
    fit_explainer,
    fit_rows,
)
from segmentation.describe.rules import segment_rules
from segmentation.io.tables import SCHEMAS


def customers(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three segments fixed by simple thresholds, plus noise features.

    Segment 1: 5+ orders; segment 2: one order (no gap between orders); segment 3: 2-4 orders
    and a weekend share above 50 %.
    """
    rng = np.random.default_rng(seed)
    segment = np.repeat([1, 2, 3], n // 3)
    orders = np.where(segment == 1, rng.integers(5, 30, n), np.where(segment == 2, 1, 0))
    orders = np.where(segment == 3, rng.integers(2, 5, n), orders)
    gaps = np.where(orders > 1, rng.uniform(5, 90, n), np.nan)
    weekend = np.where(segment == 3, rng.uniform(0.6, 1.0, n), rng.uniform(0.0, 0.4, n))
    features = pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in range(n)],
            "frequency_orders": orders,
            "mean_days_between_orders": gaps,
            "weekend_order_share": weekend,
            "avg_unit_price": rng.lognormal(1.0, 0.5, n),  # noise
        }
    )
    assignments = pd.DataFrame({"customer_id": features.customer_id, "segment_id": segment})
    return features, assignments


FEATURES = ["frequency_orders", "mean_days_between_orders", "weekend_order_share", "avg_unit_price"]


def test_threshold_segments_get_exact_readable_rules() -> None:
    features, assignments = customers()
    rules = segment_rules(features, assignments, FEATURES, random_state=0)
    assert list(rules.columns) == list(SCHEMAS["ml_segment_explanation_rules"])
    assert rules.segment_id.tolist() == [1, 2, 3]
    assert (rules.rule_precision == 1.0).all() and (rules.rule_coverage == 1.0).all()
    texts = dict(zip(rules.segment_id, rules.rule_text, strict=False))
    # NULLs in plain words, shares as percentages; the noise feature is never used
    assert "only one order" in texts[2]
    assert "share of weekend orders > " in texts[3] and texts[3].endswith("%")
    assert "unit price" not in " ".join(texts.values())


def test_whole_number_features_read_as_whole_numbers() -> None:
    features, assignments = customers()
    rules = segment_rules(features, assignments, ["frequency_orders"], random_state=0)
    texts = dict(zip(rules.segment_id, rules.rule_text, strict=False))
    assert texts == {1: "orders ≥ 5", 2: "orders ≤ 1", 3: "orders 2 to 4"}


def test_fidelity_is_accuracy_against_the_assignments() -> None:
    features, assignments = customers()
    fit = explanation_fit(features, assignments, FEATURES, max_depth=3, random_state=0)
    assert list(fit.columns) == list(SCHEMAS["ml_segment_explanation_fit"]) and len(fit) == 1
    row = fit.iloc[0]
    assert row.fidelity == pytest.approx(1.0)
    assert 0.9 <= row.cross_validated_fidelity <= 1.0
    assert row.n_customers == 300 and row.n_segments == 3 and row.explained_segment_count == 3
    importances = json.loads(row.feature_importances)
    assert sum(importances.values()) == pytest.approx(1.0, abs=1e-3)
    assert "avg_unit_price" not in row.features_used

    # shuffle a third of the labels: the same tree shape cannot follow them any more
    rng = np.random.default_rng(1)
    noisy = assignments.copy()
    picked = rng.choice(len(noisy), 100, replace=False)
    noisy.loc[picked, "segment_id"] = rng.integers(1, 4, 100)
    changed = float(np.mean(noisy.segment_id != assignments.segment_id))
    worse = explanation_fit(features, noisy, FEATURES, max_depth=3, random_state=0).iloc[0]
    assert worse.fidelity <= 1.0 - changed + 0.05
    assert worse.cross_validated_fidelity < row.cross_validated_fidelity


def test_a_depth_one_tree_leaves_a_segment_unexplained() -> None:
    features, assignments = customers()
    fit = explanation_fit(features, assignments, FEATURES, max_depth=1, random_state=0).iloc[0]
    assert fit.leaf_count == 2 and fit.explained_segment_count == 2
    assert fit.fidelity < 0.75


def test_null_routing_is_spelled_out() -> None:
    features, assignments = customers()
    rules = segment_rules(features, assignments, ["mean_days_between_orders"], random_state=0)
    texts = dict(zip(rules.segment_id, rules.rule_text, strict=False))
    assert texts[2] == "only one order"
    assert rules.set_index("segment_id").loc[2, "rule_precision"] == 1.0


def test_the_fit_is_deterministic_and_order_independent() -> None:
    features, assignments = customers()
    first = segment_rules(features, assignments, FEATURES, random_state=5)
    shuffled = segment_rules(
        features.sample(frac=1.0, random_state=2), assignments, FEATURES, random_state=5
    )
    pd.testing.assert_frame_equal(first, shuffled)


def test_absent_or_empty_features_are_left_out() -> None:
    features, assignments = customers()
    features["distinct_products"] = np.nan  # e.g. a log without stock codes
    fit = explanation_fit(
        features, assignments, [*FEATURES, "distinct_products", "not_a_column"], random_state=0
    ).iloc[0]
    assert fit.features_offered == ", ".join(FEATURES)


def test_no_customers_give_typed_empty_tables() -> None:
    features, assignments = customers()
    rules = segment_rules(features.iloc[:0], assignments.iloc[:0], FEATURES)
    fit = explanation_fit(features.iloc[:0], assignments.iloc[:0], FEATURES)
    assert rules.empty and list(rules.columns) == list(SCHEMAS["ml_segment_explanation_rules"])
    assert fit.empty and str(fit["fidelity"].dtype) == "float64"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"max_depth": 0}, "max_depth must be a whole number from 1 to 8"),
        ({"max_depth": 12}, "max_depth must be a whole number from 1 to 8"),
        ({"min_leaf_share": 0.7}, "min_leaf_share must lie in (0, 0.5)"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, needle: str) -> None:
    features, assignments = customers(30)
    with pytest.raises(ExplanationInputError) as error:
        SegmentExplainer(**kwargs).fit(features[FEATURES], assignments.segment_id)
    assert needle in str(error.value)


def test_bad_input_is_refused_with_the_cause() -> None:
    features, assignments = customers(30)
    with pytest.raises(ExplanationInputError, match="none of the features"):
        explanation_fit(features, assignments, ["recency_days"])
    with pytest.raises(ExplanationInputError, match="30 customers but 29 segment ids"):
        SegmentExplainer().fit(features[FEATURES], assignments.segment_id[:29])
    infinite = features[FEATURES].assign(avg_unit_price=np.inf)
    with pytest.raises(ExplanationInputError, match="avg_unit_price has infinite values"):
        SegmentExplainer().fit(infinite, assignments.segment_id)


def test_cross_validation_splits_a_seeded_sample_of_many_customers() -> None:
    features, assignments = customers(n=3000, seed=4)
    rng = np.random.default_rng(2)
    noisy = assignments.copy()
    picked = rng.choice(len(noisy), 600, replace=False)
    noisy.loc[picked, "segment_id"] = rng.integers(1, 4, 600)
    full = explanation_fit(
        features, noisy, FEATURES, max_depth=3, random_state=0, cv_sample_size=3000
    ).iloc[0]
    sampled = explanation_fit(
        features, noisy, FEATURES, max_depth=3, random_state=0, cv_sample_size=499
    ).iloc[0]
    again = explanation_fit(
        features, noisy, FEATURES, max_depth=3, random_state=0, cv_sample_size=499
    ).iloc[0]
    assert full.cross_validation_customers == 3000 and sampled.cross_validation_customers == 499
    # held out on the 499 sampled customers (prime to 3000): a whole number of them, close to
    # the estimate on all customers
    assert sampled.cross_validated_fidelity * 499 == pytest.approx(
        round(sampled.cross_validated_fidelity * 499)
    )
    assert full.cross_validated_fidelity * 499 != pytest.approx(
        round(full.cross_validated_fidelity * 499)
    )
    assert abs(sampled.cross_validated_fidelity - full.cross_validated_fidelity) < 0.06
    assert again.cross_validated_fidelity == sampled.cross_validated_fidelity
    # the tree itself is fitted on every customer either way
    assert sampled.n_customers == 3000 and sampled.fidelity == full.fidelity


def test_a_cross_validation_sample_below_the_minimum_is_refused() -> None:
    features, assignments = customers()
    with pytest.raises(ExplanationInputError, match="explanation_cv_sample_size"):
        explanation_fit(features, assignments, FEATURES, cv_sample_size=10)


def test_the_tree_is_fitted_on_a_stratified_sample_and_its_fidelity_counts_everyone() -> None:
    features, assignments = customers(n=3000)
    everyone = explanation_fit(features, assignments, FEATURES, max_depth=3)
    assert everyone.equals(
        explanation_fit(features, assignments, FEATURES, max_depth=3, fit_sample_size=3000)
    )
    assert everyone.iloc[0].fit_customers == 3000
    fitted = fit_explainer(features, assignments, FEATURES, max_depth=3, fit_sample_size=1200)
    assert fitted is not None
    explainer, table, labels = fitted
    assert explainer.fit_customers_ == 1200
    assert explainer.tree_.tree_.n_node_samples[0] == 1200  # the tree saw the sample alone
    assert explainer.min_samples_leaf_ == 12  # 1 % of the customers fitted on
    assert explainer.fidelity_ == np.mean(explainer.predict(table) == labels)  # all 3,000
    row = explanation_fit(features, assignments, FEATURES, max_depth=3, fit_sample_size=1200).iloc[
        0
    ]
    assert row.n_customers == 3000 and row.fit_customers == 1200
    assert row.fidelity == explainer.fidelity_


def test_the_cross_validation_ignores_the_fit_sample() -> None:
    """The folds' trees keep the leaf share of the customers the folds split, whatever the
    tree was fitted on (noisy segments and deep trees, where the leaf size shows)."""
    features, assignments = customers(n=3000, seed=4)
    rng = np.random.default_rng(2)
    picked = rng.choice(len(assignments), 900, replace=False)
    assignments.loc[picked, "segment_id"] = rng.integers(1, 4, 900)
    everyone, sampled = (
        explanation_fit(features, assignments, FEATURES, max_depth=8, fit_sample_size=size)
        for size in (3000, 1000)
    )
    assert sampled.iloc[0].min_samples_leaf == 10 and everyone.iloc[0].min_samples_leaf == 30
    assert sampled.iloc[0].cross_validated_fidelity == everyone.iloc[0].cross_validated_fidelity


def test_the_fit_sample_keeps_every_segments_share_and_is_seeded() -> None:
    labels = np.repeat([1, 2, 3], [6000, 3000, 1000])
    rows = fit_rows(labels, 2000, random_state=7)
    assert rows.size == 2000 and np.all(np.diff(rows) > 0)
    assert np.bincount(labels[rows]).tolist() == [0, 1200, 600, 200]
    assert np.array_equal(rows, fit_rows(labels, 2000, random_state=7))
    assert not np.array_equal(rows, fit_rows(labels, 2000, random_state=8))
    assert np.array_equal(fit_rows(labels, 10_000, random_state=7), np.arange(10_000))


def test_a_fit_sample_below_the_minimum_is_refused() -> None:
    features, assignments = customers()
    with pytest.raises(ExplanationInputError, match="explanation_fit_sample_size"):
        explanation_fit(features, assignments, FEATURES, fit_sample_size=10)

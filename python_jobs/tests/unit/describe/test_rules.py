"""One readable rule per segment (segmentation.describe.rules)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from segmentation.describe.explain import Bounds
from segmentation.describe.rules import MAX_CONDITIONS, segment_rules, selects

FEATURES = ["recency_days", "frequency_orders", "monetary_amount", "avg_order_value"]


def customers(n: int = 1500, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three groups told apart by orders and revenue, plus a describing column that is noise."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    orders = np.where(group == 0, rng.integers(10, 30, n), rng.integers(1, 4, n))
    revenue = np.where(group == 2, rng.uniform(2000, 5000, n), rng.uniform(50, 900, n))
    features = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "recency_days": rng.integers(0, 400, n),
            "frequency_orders": orders,
            "monetary_amount": revenue,
            "avg_order_value": revenue / orders,
            "evening_order_share": rng.uniform(0, 1, n),
        }
    )
    assignments = pd.DataFrame({"customer_id": features["customer_id"], "segment_id": group + 1})
    return features, assignments


def test_every_segment_gets_one_short_rule_on_the_given_features() -> None:
    features, assignments = customers()
    rules = segment_rules(features, assignments, FEATURES)
    assert rules["segment_id"].tolist() == [1, 2, 3]
    assert (rules["condition_count"] <= MAX_CONDITIONS).all()
    used = {c["feature_name"] for text in rules["conditions_json"] for c in json.loads(text)}
    assert used <= set(FEATURES) and "evening_order_share" not in used
    # planted groups are boxes: each rule finds its segment almost exactly
    assert (rules["rule_precision"] > 0.95).all() and (rules["rule_coverage"] > 0.95).all()


def _recount(
    rule, features: pd.DataFrame, segments: np.ndarray
) -> tuple[dict[str, Bounds], int, int]:
    """The rule's printed conditions, the customers of ``features`` they select and of them
    those of its segment, counted here from the conditions alone."""
    bounds = {c.pop("feature_name"): Bounds(**c) for c in json.loads(rule.conditions_json)}
    chosen = selects(features[list(bounds)].astype(float), bounds)
    return bounds, int(chosen.sum()), int((chosen & (segments == rule.segment_id)).sum())


def test_precision_and_coverage_are_those_of_the_printed_thresholds() -> None:
    features, assignments = customers(seed=9)
    rules = segment_rules(features, assignments, FEATURES)
    segments = assignments["segment_id"].to_numpy()
    for rule in rules.itertuples():
        bounds, selected, hits = _recount(rule, features, segments)
        assert selected == rule.customer_count and hits == rule.segment_customer_count
        for bound in bounds.values():  # thresholds as printed: whole numbers or rounded
            for value in (bound.lower, bound.upper):
                assert value is None or value == float(f"{value:.2f}")


def test_no_customers_gives_an_empty_table_with_its_columns() -> None:
    features, assignments = customers()
    rules = segment_rules(features.iloc[:0], assignments.iloc[:0], FEATURES)
    assert rules.empty and "conditions_json" in rules.columns


def test_rules_fitted_on_a_sample_are_measured_on_every_customer() -> None:
    """Beyond fit_sample_size customers the trees see a stratified sample; precision, coverage
    and counts still come from every customer, and a sample as large as the customer base
    changes nothing."""
    features, assignments = customers(n=4000, seed=3)
    everyone = segment_rules(features, assignments, FEATURES)
    assert everyone.equals(segment_rules(features, assignments, FEATURES, fit_sample_size=4000))
    sampled = segment_rules(features, assignments, FEATURES, fit_sample_size=1000)
    segments = assignments["segment_id"].to_numpy()
    for rule in sampled.itertuples():
        _, selected, hits = _recount(rule, features, segments)
        assert selected == rule.customer_count and hits == rule.segment_customer_count
        assert rule.rule_precision == hits / selected
        assert rule.rule_coverage == hits / int((segments == rule.segment_id).sum())
    # counted over all 4,000 customers, not the 1,000 fitted on
    assert sampled["segment_customer_count"].sum() > 1000
    # planted groups: the sample finds them as well as everyone does
    assert (sampled["rule_precision"] > 0.95).all() and (sampled["rule_coverage"] > 0.95).all()

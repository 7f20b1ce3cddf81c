"""Drift that means a change in customers: a simulated shop whose log only gets older triggers no
retrain, the same shop with tripled prices does (segmentation.registry.runs and .drift).

The shop: four kinds of customers (wholesale, regular, occasional, one-off) with their own order
rates, order values, basket breadth and lifetimes, arriving at a steady pace from the log's
first day. Features are computed from the simulated orders as fct_customer_features defines
them, at the end of the log's third month (the kept model) and one or two months later.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from segmentation.config.retraining import RetrainingPolicy
from segmentation.config.segmentation import SegmentationSettings
from segmentation.registry.runs import registry_run

LOG_START = dt.date(2024, 1, 1)
TRAINED_AT_DAY = 91  # the kept model: a young log, three months old
NEXT_MONTH_DAY = 121
TWO_MONTHS_LATER_DAY = 152
CUSTOMERS = 2400
# share, orders per 30 days, mean order value, lifetime in days (mean), products per order
KINDS = {
    "wholesale": (0.15, 2.5, 900.0, 2000.0, 30),
    "regular": (0.35, 1.0, 120.0, 900.0, 8),
    "occasional": (0.30, 0.35, 60.0, 400.0, 4),
    "one_off": (0.20, 0.05, 35.0, 20.0, 2),
}
SETTINGS = SegmentationSettings.from_mapping(
    {"algorithms": ["kmeans"], "kmeans": {"k_min": 3, "k_max": 6, "n_init": 4}}
)


def simulate_orders(seed: int, price_factor_after_training: float = 1.0) -> pd.DataFrame:
    """Orders (customer, day, amount, products bought) of the whole simulated log."""
    rng = np.random.default_rng(seed)
    kinds = list(KINDS.values())
    chosen = rng.choice(len(kinds), size=CUSTOMERS, p=[kind[0] for kind in kinds])
    arrival = rng.uniform(0, TWO_MONTHS_LATER_DAY, size=CUSTOMERS)
    rows = []
    for customer in range(CUSTOMERS):
        _, rate, value, lifetime, basket = kinds[chosen[customer]]
        rate, value = rate * rng.lognormal(0, 0.25), value * rng.lognormal(0, 0.25)
        repertoire = np.arange(4 * basket) + 1000 * customer
        end, day = arrival[customer] + rng.exponential(lifetime), arrival[customer]
        while day < min(end, TWO_MONTHS_LATER_DAY):
            amount = value * rng.lognormal(0, 0.3)
            if day >= TRAINED_AT_DAY:
                amount *= price_factor_after_training
            products = rng.choice(repertoire, size=min(basket, repertoire.size), replace=False)
            rows.append((customer, day, amount, products))
            day += rng.exponential(30.0 / rate)
    return pd.DataFrame(rows, columns=["customer", "day", "amount", "products"])


def features_as_of(orders: pd.DataFrame, as_of_day: int) -> pd.DataFrame:
    """The model's features of every customer with an order before ``as_of_day``."""
    seen = orders[orders["day"] < as_of_day]
    rows = []
    for customer, own in seen.groupby("customer"):
        days = own["day"].to_numpy()
        first_day, last_day, count = days.min(), days.max(), len(days)
        rows.append(
            {
                "customer_id": f"C{customer:05d}",
                "as_of_date": LOG_START + dt.timedelta(days=as_of_day),
                "recency_days": float(np.ceil(as_of_day - last_day)),
                "tenure_days": float(np.ceil(as_of_day - first_day)),
                "frequency_orders": float(count),
                "monetary_amount": float(own["amount"].sum()),
                "avg_order_value": float(own["amount"].mean()),
                "distinct_products": float(
                    np.unique(np.concatenate(own["products"].tolist())).size
                ),
                "mean_days_between_orders": (last_day - first_day) / (count - 1)
                if count > 1
                else np.nan,
            }
        )
    return pd.DataFrame(rows)


def decision_later(
    orders: pd.DataFrame, policy: RetrainingPolicy, as_of_day: int = NEXT_MONTH_DAY
) -> pd.Series:
    """Train on the three-month log, then run the policy on the log as of ``as_of_day``."""
    first = registry_run(features_as_of(orders, TRAINED_AT_DAY), None, SETTINGS, policy)
    assert first["decision"].iloc[0] == "first_model"
    later = registry_run(features_as_of(orders, as_of_day), first, SETTINGS, policy)
    return later.iloc[0]


@pytest.fixture(scope="module")
def steady_shop() -> pd.DataFrame:
    return simulate_orders(seed=7)


@pytest.mark.parametrize("as_of_day", [NEXT_MONTH_DAY, TWO_MONTHS_LATER_DAY])
def test_a_log_that_only_gets_older_triggers_no_retrain(steady_shop, as_of_day) -> None:
    run = decision_later(steady_shop, RetrainingPolicy.from_mapping(None), as_of_day)
    assert run["decision"] == "kept", run["decision_reason"]


def test_compared_as_recorded_the_same_log_looks_drifted(steady_shop) -> None:
    # what the policy did before features growing with the log's age were compared per day of
    # the log: the older log alone fires the feature-drift rule
    raw = RetrainingPolicy.from_mapping({"log_age_features": []})
    run = decision_later(steady_shop, raw)
    assert run["decision"] == "retrained"
    assert "feature_drift" in run["reason_codes"].split(",")


def test_tripled_prices_still_trigger_a_retrain_that_names_them() -> None:
    # two months of tripled prices after training (lifetime order values move slowly)
    run = decision_later(
        simulate_orders(seed=7, price_factor_after_training=3.0),
        RetrainingPolicy.from_mapping(None),
        TWO_MONTHS_LATER_DAY,
    )
    assert run["decision"] == "retrained"
    assert "feature_drift" in run["reason_codes"].split(",")
    assert "avg_order_value PSI" in run["decision_reason"]

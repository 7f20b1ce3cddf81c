"""Synthetic customer-feature frames shaped like ``fct_customer_features``.

For tests and the benchmark: a few planted customer groups with distinct purchasing profiles,
so a segmentation can be checked against the truth without a warehouse.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Per planted group: (log median of net revenue, log median of orders, mean recency in days,
# cancellation share, weekend share, evening share, log median unit price).
_PROFILES: tuple[tuple[float, float, float, float, float, float, float], ...] = (
    (8.5, 3.2, 12.0, 0.01, 0.15, 0.10, 1.0),  # loyal big spenders
    (5.0, 0.3, 300.0, 0.02, 0.60, 0.70, 1.5),  # lapsed one-off evening shoppers
    (6.5, 1.6, 60.0, 0.25, 0.30, 0.30, 2.8),  # premium buyers who cancel a lot
    (4.2, 0.9, 120.0, 0.00, 0.05, 0.05, 0.2),  # bargain hunters
    (7.2, 2.3, 30.0, 0.05, 0.80, 0.20, 0.6),  # weekend regulars
    (6.0, 1.2, 200.0, 0.10, 0.20, 0.85, 1.9),  # night owls
)


def synthetic_customer_features(
    n_customers: int,
    n_groups: int = 4,
    random_state: int = 0,
    as_of_date: str = "2011-12-10",
    spread: float = 0.25,
) -> tuple[pd.DataFrame, np.ndarray]:
    """A features frame with ``n_customers`` rows and the planted group of each row.

    ``spread`` is the within-group noise (log scale); small values give well-separated groups.
    """
    if not 1 <= n_groups <= len(_PROFILES):
        raise ValueError(f"n_groups must be between 1 and {len(_PROFILES)}, got {n_groups}")
    rng = np.random.default_rng(random_state)
    groups = rng.integers(0, n_groups, size=n_customers)
    profile = np.array(_PROFILES)[groups]
    noise = rng.normal(0.0, spread, size=(n_customers, 7))
    monetary = np.exp(profile[:, 0] + noise[:, 0])
    orders = np.maximum(1, np.round(np.exp(profile[:, 1] + noise[:, 1]))).astype(int)
    recency = np.maximum(0, np.round(profile[:, 2] * np.exp(noise[:, 2]))).astype(int)
    tenure = recency + np.round(30 * orders * np.exp(noise[:, 3] / 2)).astype(int)
    unit_price = np.exp(profile[:, 6] + noise[:, 4])
    avg_order_value = monetary / orders
    items = np.maximum(1.0, avg_order_value / unit_price)
    shares = np.clip(profile[:, 3:6] + rng.normal(0.0, spread / 10, size=(n_customers, 3)), 0, 1)
    as_of = pd.Timestamp(as_of_date)
    last = as_of - pd.to_timedelta(recency, unit="D")
    first = as_of - pd.to_timedelta(tenure, unit="D")
    gaps = np.where(orders > 1, (tenure - recency) / np.maximum(orders - 1, 1), np.nan)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:07d}" for i in range(n_customers)],
            "as_of_date": as_of.date(),
            "primary_country": "United Kingdom",
            "country_count": 1,
            "first_order_at": first,
            "last_order_at": last,
            "recency_days": recency,
            "frequency_orders": orders,
            "monetary_amount": monetary,
            "tenure_days": tenure,
            "avg_order_value": avg_order_value,
            "avg_items_per_order": items,
            "avg_unit_price": unit_price,
            "distinct_products": np.maximum(1, np.round(items * np.sqrt(orders))).astype(int),
            "cancellation_rate": shares[:, 0],
            "mean_days_between_orders": gaps,
            "weekend_order_share": shares[:, 1],
            "evening_order_share": shares[:, 2],
            "active_months": np.minimum(orders, 1 + tenure // 30),
        }
    )
    return frame, groups

"""The two references the pipeline is compared with, each run as its own measured process.

- The **floor**: the customer feature aggregation as one bare DuckDB query (the same twelve
  model features, with only the obvious cleaning: lines with a customer, purchases with a
  positive quantity and price, ``C`` invoices as cancellations; no trimming, de-duplication,
  non-product codes or line-by-line netting), then one K-Means fit (k = 5, one k-means++ run)
  on the log1p-scaled, standardised result: the least work that turns the log into segments.
  ``floor`` runs it end to end from the log file (like the notebook); ``floor-query`` times
  the query alone on the loaded ``raw.transactions``, the input of the SQL feature stage.
- The **notebook baseline**, as a competent analyst writes it: pandas reads the log file,
  filters, groups by customer into recency, frequency and monetary value, log1p and
  ``StandardScaler``, then K-Means for k = 2..10 (the pipeline's ``n_init``) scored by a
  sampled silhouette (the pipeline's sample size), keeping the best k.

Run as ``python -m segmentation.benchmark.references floor-query|floor|notebook ...``; each
writes its inner timings as JSON to ``--json-out`` (the parent measures wall time and peak
memory).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

FLOOR_CLUSTERS = 5
# Columns of the customer table that enter the floor's K-Means, and those log1p-transformed.
FLOOR_FEATURES = (
    "recency_days",
    "frequency_orders",
    "monetary_amount",
    "avg_order_value",
    "avg_items_per_order",
    "avg_unit_price",
    "distinct_products",
    "cancellation_rate",
    "tenure_days",
    "mean_days_between_orders",
    "weekend_order_share",
    "evening_order_share",
)
FLOOR_LOG1P = (
    "recency_days",
    "frequency_orders",
    "monetary_amount",
    "avg_order_value",
    "avg_items_per_order",
    "avg_unit_price",
    "distinct_products",
    "mean_days_between_orders",
)
NOTEBOOK_K_RANGE = range(2, 11)


def floor_query(source: str) -> str:
    """The bare feature query over ``source`` (a table name or a ``read_parquet(...)`` call)."""
    return f"""
with
lines as (
    select customer_id, invoice_id, stock_code, quantity, unit_price, invoiced_at,
        starts_with(invoice_id, 'C') as is_cancellation
    from {source}
    where customer_id is not null
),
orders as (
    select customer_id, invoice_id, min(invoiced_at) as ordered_at,
        sum(quantity * unit_price) as order_amount, sum(quantity) as order_units
    from lines
    where not is_cancellation and quantity > 0 and unit_price > 0
    group by customer_id, invoice_id
),
customer_orders as (
    select customer_id,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        count(*) as frequency_orders,
        sum(order_amount) as monetary_amount,
        sum(order_units) as units,
        avg(case when dayofweek(ordered_at) in (0, 6) then 1.0 else 0.0 end)
            as weekend_order_share,
        avg(case when hour(ordered_at) >= 18 then 1.0 else 0.0 end) as evening_order_share
    from orders
    group by customer_id
),
customer_lines as (
    select customer_id,
        count(distinct stock_code) filter (where not is_cancellation and quantity > 0)
            as distinct_products,
        sum(quantity) filter (where not is_cancellation and quantity > 0) as purchased_units,
        -sum(quantity) filter (where is_cancellation) as cancelled_units
    from lines
    group by customer_id
),
as_of as (
    select cast(max(invoiced_at) as date) + 1 as as_of_date from lines
)
select
    o.customer_id,
    date_diff('day', o.last_order_at, as_of.as_of_date) as recency_days,
    o.frequency_orders,
    o.monetary_amount,
    o.monetary_amount / o.frequency_orders as avg_order_value,
    o.units / o.frequency_orders as avg_items_per_order,
    o.monetary_amount / o.units as avg_unit_price,
    l.distinct_products,
    coalesce(l.cancelled_units, 0) / l.purchased_units as cancellation_rate,
    date_diff('day', o.first_order_at, as_of.as_of_date) as tenure_days,
    case when o.frequency_orders > 1
        then date_diff('day', o.first_order_at, o.last_order_at) / (o.frequency_orders - 1)
    end as mean_days_between_orders,
    o.weekend_order_share,
    o.evening_order_share
from customer_orders as o
inner join customer_lines as l on o.customer_id = l.customer_id
cross join as_of
"""


def run_floor_query(database: Path) -> dict[str, Any]:
    """The bare query alone on the warehouse's ``raw.transactions`` (the SQL stage's input)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        started = time.perf_counter()
        con.execute(f"create temp table floor_features as {floor_query('raw.transactions')}")
        seconds = time.perf_counter() - started
        customers = con.execute("select count(*) from floor_features").fetchall()[0][0]
    finally:
        con.close()
    return {"query_seconds": seconds, "customers": int(customers)}


def run_floor(log_path: Path) -> dict[str, Any]:
    """The floor end to end: the bare query on the log file, then one K-Means fit."""
    from sklearn.cluster import KMeans

    figures: dict[str, Any] = {}
    con = duckdb.connect()
    try:
        started = time.perf_counter()
        source = f"read_parquet('{str(log_path).replace(chr(39), chr(39) * 2)}')"
        columns = ", ".join(FLOOR_FEATURES)
        table = con.execute(f"select {columns} from ({floor_query(source)})").fetchnumpy()
        figures["query_seconds"] = time.perf_counter() - started
    finally:
        con.close()
    started = time.perf_counter()
    matrix = _floor_matrix(table)
    clusters = min(FLOOR_CLUSTERS, matrix.shape[0])
    model = KMeans(n_clusters=clusters, n_init=1, random_state=0).fit(matrix)
    figures["kmeans_seconds"] = time.perf_counter() - started
    figures["customers"] = int(matrix.shape[0])
    figures["inertia"] = float(model.inertia_)
    return figures


def _floor_matrix(table: dict[str, np.ndarray]) -> np.ndarray:
    """Customers x features: NaN (one-order gaps) as recency, log1p where skewed, z-scores."""
    columns = []
    for name in FLOOR_FEATURES:
        values = np.asarray(table[name], dtype=float)
        if name == "mean_days_between_orders":
            recency = np.asarray(table["recency_days"], dtype=float)
            values = np.where(np.isnan(values), recency, values)
        values = np.nan_to_num(values)
        if name in FLOOR_LOG1P:
            values = np.log1p(np.clip(values, 0, None))
        spread = values.std()
        columns.append((values - values.mean()) / (spread if spread > 0 else 1.0))
    return np.column_stack(columns)


def run_notebook(log_path: Path, n_init: int, silhouette_sample_size: int) -> dict[str, Any]:
    """The notebook baseline: pandas RFM, scaling, K-Means for k = 2..10, sampled silhouette."""
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    figures: dict[str, Any] = {}
    started = time.perf_counter()
    df = pd.read_parquet(
        log_path, columns=["invoice_id", "quantity", "unit_price", "invoiced_at", "customer_id"]
    )
    figures["read_seconds"] = time.perf_counter() - started

    started = time.perf_counter()
    df = df.dropna(subset=["customer_id"])
    df = df[~df["invoice_id"].str.startswith("C") & (df["quantity"] > 0) & (df["unit_price"] > 0)]
    df = df.assign(amount=df["quantity"] * df["unit_price"])
    snapshot = df["invoiced_at"].max().normalize() + pd.Timedelta(days=1)
    rfm = df.groupby("customer_id").agg(
        last_order=("invoiced_at", "max"),
        frequency=("invoice_id", "nunique"),
        monetary=("amount", "sum"),
    )
    rfm["recency"] = (snapshot - rfm["last_order"]).dt.days
    features = np.log1p(rfm[["recency", "frequency", "monetary"]].clip(lower=0))
    scaled = StandardScaler().fit_transform(features)
    figures["features_seconds"] = time.perf_counter() - started

    started = time.perf_counter()
    scores = {}
    for k in NOTEBOOK_K_RANGE:
        labels = KMeans(n_clusters=k, n_init=n_init, random_state=42).fit_predict(scaled)
        scores[k] = float(
            silhouette_score(
                scaled,
                labels,
                sample_size=min(silhouette_sample_size, len(scaled)),
                random_state=42,
            )
        )
    figures["clustering_seconds"] = time.perf_counter() - started
    figures["customers"] = int(len(scaled))
    figures["best_k"] = max(scores, key=scores.get)
    figures["silhouettes"] = scores
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one benchmark reference, measured by its parent")
    parser.add_argument("which", choices=["floor-query", "floor", "notebook"])
    parser.add_argument("--log", type=Path, help="the log as a Parquet file (floor, notebook)")
    parser.add_argument("--database", type=Path, help="warehouse with raw.transactions")
    parser.add_argument("--n-init", type=int, default=10, help="K-Means runs per k (notebook)")
    parser.add_argument("--silhouette-sample-size", type=int, default=3000)
    parser.add_argument("--json-out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.which == "floor-query" and args.database is None:
        parser.error("floor-query needs --database")
    if args.which != "floor-query" and args.log is None:
        parser.error(f"{args.which} needs --log")
    if args.which == "floor-query":
        figures = run_floor_query(args.database)
    elif args.which == "floor":
        figures = run_floor(args.log)
    else:
        figures = run_notebook(args.log, args.n_init, args.silhouette_sample_size)
    args.json_out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

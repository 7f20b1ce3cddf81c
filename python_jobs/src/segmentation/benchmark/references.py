"""The references the pipeline is compared with, each run as its own measured process.

- The **same-work floor** (``floor.py``, ``same_work_floor.sql``): the rows of
  ``fct_customer_features`` as one hand-written DuckDB query, every rule of the feature chain
  included, nothing persisted. ``floor-query`` times it alone on the loaded warehouse (the
  input of the SQL feature stage: ``raw.transactions``, the seeded codes) and then checks that
  its rows equal the mart's, writing the check's outcome beside the time; ``floor`` runs it
  end to end from the log file and fits one K-Means (k = 5, one k-means++ run) on the
  log1p-scaled, standardised result: the least work that gives the product's features and a
  segmentation of them.
- The **notebook baseline**, as a competent analyst writes it: pandas reads the log file,
  filters, groups by customer into recency, frequency and monetary value, log1p and
  ``StandardScaler``, then K-Means for k = 2..10 (the pipeline's ``n_init``) scored by a
  sampled silhouette (the pipeline's sample size), keeping the best k. It does less work than
  the pipeline (no trimming, de-duplication, non-product codes or cancellation netting; three
  features), so it is a reference, not a target.

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

from segmentation.benchmark.floor import (
    FloorSettings,
    FloorSources,
    compare_with_mart,
    floor_sql,
)

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


def run_floor_query(database: Path, settings: FloorSettings) -> dict[str, Any]:
    """The floor's query alone on the warehouse (the SQL stage's inputs), then its check
    against the mart (not timed): ``mismatch`` is None when they agree, else the message."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        query = floor_sql(FloorSources.warehouse(), settings)
        started = time.perf_counter()
        con.execute(f"create temp table floor_features as {query}")
        seconds = time.perf_counter() - started
        comparison = compare_with_mart(con, "floor_features")
    finally:
        con.close()
    return {
        "query_seconds": seconds,
        "customers": comparison.floor_customers,
        "mismatch": None if comparison.ok else comparison.message(),
    }


def run_floor(log_path: Path, project_dir: Path, settings: FloorSettings) -> dict[str, Any]:
    """The floor end to end: its query on the log file, then one K-Means fit."""
    from sklearn.cluster import KMeans

    figures: dict[str, Any] = {}
    con = duckdb.connect()
    try:
        started = time.perf_counter()
        query = floor_sql(FloorSources.log_file(log_path, project_dir), settings)
        columns = ", ".join(FLOOR_FEATURES)
        table = con.execute(f"select {columns} from ({query})").fetchnumpy()
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
        values = _as_float(table[name])
        if name == "mean_days_between_orders":
            recency = _as_float(table["recency_days"])
            values = np.where(np.isnan(values), recency, values)
        values = np.nan_to_num(values)
        if name in FLOOR_LOG1P:
            values = np.log1p(np.clip(values, 0, None))
        spread = values.std()
        columns.append((values - values.mean()) / (spread if spread > 0 else 1.0))
    return np.column_stack(columns)


def _as_float(column: np.ndarray) -> np.ndarray:
    """A fetched column as floats, NULL (masked by DuckDB) as NaN."""
    return np.ma.filled(np.ma.asarray(column, dtype=float), np.nan)


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
    parser.add_argument(
        "--project-dir", type=Path, default=Path.cwd(), help="the dbt project (floor, floor-query)"
    )
    parser.add_argument("--vars", default=None, help="the build's dbt vars (floor, floor-query)")
    parser.add_argument("--n-init", type=int, default=10, help="K-Means runs per k (notebook)")
    parser.add_argument("--silhouette-sample-size", type=int, default=3000)
    parser.add_argument("--json-out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.which == "floor-query" and args.database is None:
        parser.error("floor-query needs --database")
    if args.which != "floor-query" and args.log is None:
        parser.error(f"{args.which} needs --log")
    if args.which == "notebook":
        figures = run_notebook(args.log, args.n_init, args.silhouette_sample_size)
    else:
        settings = FloorSettings.from_project(args.project_dir, args.vars)
        if args.which == "floor-query":
            figures = run_floor_query(args.database, settings)
        else:
            figures = run_floor(args.log, args.project_dir, settings)
    args.json_out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

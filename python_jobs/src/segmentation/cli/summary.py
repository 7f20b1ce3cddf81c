"""`segmentation summary`: say where the warehouse is, what it holds and how to query it."""

from __future__ import annotations

import argparse
from pathlib import Path

from segmentation.errors import JobError
from segmentation.io.warehouse import connect, database_path, serving_path

# The tables a user queries after `make run`, in the order they are shown.
PUBLIC_TABLES = (
    "marts.fct_customer_features",
    "marts.fct_customer_segments",
    "marts.dim_segments",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        type=Path,
        default=None,
        help="warehouse file (default: $SEGMENTS_DUCKDB_PATH)",
    )


def run(args: argparse.Namespace) -> int:
    path = (args.database or database_path()).resolve()
    if not path.exists():
        raise JobError(f"no warehouse at {path}: run `make run` first")
    con = connect(path, read_only=True)
    try:
        print(f"\nWarehouse: {path}")
        for table in PUBLIC_TABLES:
            print(f"  {table:<32} {_row_count(con, table)}")
        if _row_count(con, "marts.dim_segments") != "missing":
            print("\nSegments:")
            print(con.sql(SEGMENTS_SQL if _has_stability(con) else PLAIN_SEGMENTS_SQL))
            _print_rules_and_reason(con)
    finally:
        con.close()
    serving = serving_path().resolve()
    readable = serving if serving.exists() else path
    if serving.exists():
        print(f"Serving copy for BI tools (published after the last good build): {serving}")
    print(
        "Query it (read-only, from any other process):\n"
        '  .venv/bin/python -c "import duckdb;'
        f" con = duckdb.connect('{readable}', read_only=True);"
        " print(con.sql('select * from marts.dim_segments'))\"\n"
        "Docs, lineage and charts: open target/static_index.html, or run `make docs`"
    )
    return 0


PLAIN_SEGMENTS_SQL = """
    select segment_id, segment_name, customer_count,
        round(customer_share, 3) as customer_share, round(revenue_share, 3) as revenue_share
    from marts.dim_segments order by segment_id
"""
# with each segment's bootstrap stability (mean Jaccard, ml_segment_stability)
SEGMENTS_SQL = """
    select s.segment_id, s.segment_name, s.customer_count,
        round(s.customer_share, 3) as customer_share, round(s.revenue_share, 3) as revenue_share,
        round(b.mean_jaccard, 2) as stability
    from marts.dim_segments as s
    left join ml.ml_segment_stability as b using (segment_id)
    order by s.segment_id
"""


def _has_stability(con) -> bool:
    return _row_count(con, "ml.ml_segment_stability") != "missing"


def _print_rules_and_reason(con) -> None:
    """Each segment's readable rule, and why the model has this many segments."""
    if _row_count(con, "ml.ml_segment_model") == "missing":
        return  # a warehouse that holds the marts alone (copied, or not built by dbt)
    rules = con.execute(
        "select segment_id, segment_name, explanation_rule, explanation_precision,"
        " explanation_coverage from marts.dim_segments order by segment_id"
    ).fetchall()
    if rules:
        print("What each segment is (at most three conditions; precision / coverage):")
        for segment_id, name, rule, precision, coverage in rules:
            figures = "" if precision is None else f" ({precision:.0%} / {coverage:.0%})"
            print(f"  {segment_id} {name}: {rule or 'no rule'}{figures}")
    reason = con.execute("select selection_reason from ml.ml_segment_model").fetchall()
    if reason:
        print(f"Why {len(rules)} segments: {reason[0][0]}")


def _row_count(con, table: str) -> str:
    schema, name = table.split(".")
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()[0][0]
    if not exists:
        return "missing"
    return f"{con.execute(f'select count(*) from {table}').fetchall()[0][0]:,} rows"

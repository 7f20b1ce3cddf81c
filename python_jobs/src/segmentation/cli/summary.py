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
            print(
                con.sql(
                    "select segment_id, segment_name, customer_count,"
                    " round(customer_share, 3) as customer_share,"
                    " round(revenue_share, 3) as revenue_share"
                    " from marts.dim_segments order by segment_id"
                )
            )
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


def _row_count(con, table: str) -> str:
    schema, name = table.split(".")
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchall()[0][0]
    if not exists:
        return "missing"
    return f"{con.execute(f'select count(*) from {table}').fetchall()[0][0]:,} rows"

"""Moves tables into and out of the local Spark warehouse, as a process of its own.

``python -m segmentation.engines.spark_io --folder DIR [--load MANIFEST] [--dump TABLE=PATH]``

Loads every table of a transfer manifest (:mod:`segmentation.engines.transfer`: Parquet files
written by DuckDB), creating, replacing or appending as each says, then writes each dumped
table to a folder of Parquet files. It opens the same warehouse and metastore as dbt's
``spark`` target (:func:`segmentation.engines.spark.session_settings`) and must not run while
dbt does: the embedded metastore admits one process.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from segmentation.engines.spark import session_settings
from segmentation.engines.transfer import TableCopy, engine_type, read_manifest

LOAD_THREADS = 4
_STARTED = time.perf_counter()


def open_session(folder: Path) -> Any:
    """A Spark session on the warehouse in ``folder`` (Hive catalog in its metastore)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in session_settings(folder).items():
        builder = builder.config(key, value)
    # dumps are read back by DuckDB: plain 64-bit timestamps rather than Spark's INT96
    builder = builder.config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def load_tables(session: Any, tables: Sequence[TableCopy], threads: int = LOAD_THREADS) -> None:
    """Load ``tables``, a few at a time (Spark runs jobs of one session side by side)."""
    for schema in sorted({table.schema for table in tables}):
        session.sql(f"create database if not exists {schema}")
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for table in pool.map(lambda table: load_table(session, table), tables):
            _say(f"loaded {table.qualified_name} ({table.rows} rows)")


def load_table(session: Any, table: TableCopy) -> TableCopy:
    """Write the rows of ``table``, cast to its declared types, as a Parquet table (appended
    to the existing one, or replacing it)."""
    rows = session.read.parquet(str(table.path)).selectExpr(
        *(f"cast({name} as {engine_type(kind, 'spark')}) as {name}" for name, kind in table.columns)
    )
    if table.append:
        rows.write.insertInto(table.qualified_name)
    else:
        rows.write.mode("overwrite").format("parquet").saveAsTable(table.qualified_name)
    return table


def dump_table(session: Any, table: str, path: Path) -> None:
    """Write every row of ``table`` to the folder ``path`` as Parquet (replacing it)."""
    session.table(table).write.mode("overwrite").parquet(str(path))


def _say(message: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:6.1f} s] {message}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segmentation.engines.spark_io")
    parser.add_argument("--folder", type=Path, required=True, help="the Spark warehouse folder")
    parser.add_argument("--load", type=Path, help="transfer manifest of the tables to load")
    parser.add_argument(
        "--dump", action="append", default=[], metavar="TABLE=PATH", help="table to write out"
    )
    args = parser.parse_args(argv)
    session = open_session(args.folder.resolve())
    _say("Spark session open")
    try:
        if args.load is not None:
            load_tables(session, read_manifest(args.load))
        for item in args.dump:
            table, _, path = item.partition("=")
            dump_table(session, table, Path(path))
            _say(f"wrote {table} to {path}")
    finally:
        session.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

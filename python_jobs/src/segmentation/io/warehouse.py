"""Opening the DuckDB warehouse and making sure the raw tables of the input contract exist."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from segmentation.io.contract import (
    ARCHETYPE_COLUMNS,
    ARCHETYPES_TABLE,
    CUSTOMER_ATTRIBUTE_COLUMNS,
    CUSTOMER_ATTRIBUTES_TABLE,
    ENGAGEMENT_EVENT_COLUMNS,
    ENGAGEMENT_EVENTS_TABLE,
    RAW_SCHEMA,
    SOURCE_LOAD_LOG_COLUMNS,
    SOURCE_LOAD_LOG_TABLE,
    TRANSACTION_COLUMNS,
    TRANSACTIONS_TABLE,
    create_table_sql,
)

DEFAULT_DATABASE = Path("warehouse/segments.duckdb")
DATABASE_ENV_VAR = "SEGMENTS_DUCKDB_PATH"
# The published read-only copy BI tools open (see segmentation.publish.serving).
DEFAULT_SERVING_DATABASE = Path("warehouse/serving.duckdb")
SERVING_ENV_VAR = "SEGMENTS_SERVING_PATH"
# DuckDB's memory cap (as in profiles.yml): beyond it work spills to disk instead of taking
# the machine (a 50M-line load peaked at 19.7 GiB uncapped, 4.2 GiB at 4GB).
MEMORY_LIMIT_ENV_VAR = "SEGMENTS_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "4GB"


def database_path() -> Path:
    """The warehouse file: ``$SEGMENTS_DUCKDB_PATH`` or ``warehouse/segments.duckdb``."""
    return Path(os.environ.get(DATABASE_ENV_VAR) or DEFAULT_DATABASE)


def serving_path() -> Path:
    """The serving copy: ``$SEGMENTS_SERVING_PATH`` or ``warehouse/serving.duckdb``."""
    return Path(os.environ.get(SERVING_ENV_VAR) or DEFAULT_SERVING_DATABASE)


def connect(path: Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, creating its folder when writing."""
    path = path or database_path()
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": os.environ.get(MEMORY_LIMIT_ENV_VAR) or DEFAULT_MEMORY_LIMIT}
    return duckdb.connect(str(path), read_only=read_only, config=config)


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and every table the dbt sources read, if they are missing: the
    input contract (the optional inputs included) plus the loaders' bookkeeping (load log,
    rejected rows, input capabilities)."""
    # imported here: the loading package itself builds on this module
    from segmentation.loading.log import ensure_load_tables

    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(create_table_sql(TRANSACTIONS_TABLE, TRANSACTION_COLUMNS))
    con.execute(create_table_sql(ARCHETYPES_TABLE, ARCHETYPE_COLUMNS))
    # the optional inputs: empty when a shop has none (dbt reads them all the same)
    con.execute(create_table_sql(CUSTOMER_ATTRIBUTES_TABLE, CUSTOMER_ATTRIBUTE_COLUMNS))
    con.execute(create_table_sql(ENGAGEMENT_EVENTS_TABLE, ENGAGEMENT_EVENT_COLUMNS))
    con.execute(create_table_sql(SOURCE_LOAD_LOG_TABLE, SOURCE_LOAD_LOG_COLUMNS))
    ensure_load_tables(con)


def transaction_count(con: duckdb.DuckDBPyConnection) -> int:
    """Rows in ``raw.transactions`` (0 when the table does not exist)."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [RAW_SCHEMA, TRANSACTIONS_TABLE],
    ).fetchall()[0][0]
    if not exists:
        return 0
    return con.execute(f"select count(*) from {RAW_SCHEMA}.{TRANSACTIONS_TABLE}").fetchall()[0][0]

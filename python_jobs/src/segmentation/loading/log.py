"""The bookkeeping tables of loads: what was loaded, what was rejected, what the data lacks.

- ``raw.load_log``: one row per loaded unit (a file, or a sheet of a workbook) and load, with
  the file's checksum, the row counts (``rows_read = rows_loaded + rows_rejected``), the
  layout and which optional inputs it had. ``is_current`` is false for a unit that a later
  load replaced (``--replace-changed``); only current units have rows in ``raw.transactions``.
- ``raw.rejected_rows``: every row that could not be loaded, with its file, data row number,
  raw values (JSON text) and the reason.
- ``raw.input_capabilities``: one row per optional input (``has_invoice_id``,
  ``has_stock_code``, ``has_description``, ``has_country``): available only when every
  current unit had it; dbt reads it to turn off the features that need a missing input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from segmentation.io.contract import RAW_SCHEMA, TRANSACTIONS_TABLE, create_table_sql
from segmentation.loading.mapping import OPTIONAL_CAPABILITIES

LOAD_LOG_TABLE = "load_log"
REJECTED_ROWS_TABLE = "rejected_rows"
CAPABILITIES_TABLE = "input_capabilities"

LOAD_LOG_COLUMNS: dict[str, str] = {
    "load_id": "VARCHAR",
    "source_file": "VARCHAR",
    "file_path": "VARCHAR",
    "sheet_name": "VARCHAR",
    "file_format": "VARCHAR",
    "layout": "VARCHAR",
    "checksum": "VARCHAR",
    "file_bytes": "BIGINT",
    "encoding": "VARCHAR",
    "date_format": "VARCHAR",
    "date_order": "VARCHAR",
    "rows_read": "BIGINT",
    "rows_loaded": "BIGINT",
    "rows_rejected": "BIGINT",
    "has_invoice_id": "BOOLEAN",
    "has_stock_code": "BOOLEAN",
    "has_description": "BOOLEAN",
    "has_country": "BOOLEAN",
    "amount_source": "VARCHAR",
    "loaded_at": "TIMESTAMP",
    "is_current": "BOOLEAN",
}
REJECTED_ROW_COLUMNS: dict[str, str] = {
    "load_id": "VARCHAR",
    "source_file": "VARCHAR",
    "source_row": "BIGINT",
    "raw_values": "VARCHAR",
    "reason": "VARCHAR",
}
CAPABILITY_COLUMNS: dict[str, str] = {
    "capability": "VARCHAR",
    "is_available": "BOOLEAN",
    "note": "VARCHAR",
}
# What turns off downstream when an optional input is missing (for the notes).
CAPABILITY_EFFECTS: dict[str, str] = {
    "has_invoice_id": (
        "invoice ids are synthesised as one order per customer and timestamp, so order "
        "counts are approximate and cancellations cannot be matched to invoices"
    ),
    "has_stock_code": "product features (distinct products, non-product lines) are off",
    "has_description": "description-based checks are off",
    "has_country": "country features are off",
}


@dataclass(frozen=True)
class LoggedFile:
    """A file that current rows of the load log came from."""

    file_path: str
    checksum: str
    source_files: tuple[str, ...]


def qualified(table: str) -> str:
    """``raw.<table>``."""
    return f"{RAW_SCHEMA}.{table}"


def ensure_load_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the load log, rejected rows and input capabilities tables when missing."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(create_table_sql(LOAD_LOG_TABLE, LOAD_LOG_COLUMNS))
    con.execute(create_table_sql(REJECTED_ROWS_TABLE, REJECTED_ROW_COLUMNS))
    con.execute(create_table_sql(CAPABILITIES_TABLE, CAPABILITY_COLUMNS))


def current_files(con: duckdb.DuckDBPyConnection) -> list[LoggedFile]:
    """The files whose rows are in ``raw.transactions`` now, with their checksums."""
    rows = con.execute(
        f"""
        select file_path, any_value(checksum), list(source_file order by source_file)
        from {qualified(LOAD_LOG_TABLE)}
        where is_current
        group by file_path
        order by file_path
        """
    ).fetchall()
    return [LoggedFile(path, checksum, tuple(units)) for path, checksum, units in rows]


def previous_date_orders(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Day/month orders settled by earlier, current loads (for ambiguous new dates)."""
    rows = con.execute(
        f"select distinct date_order from {qualified(LOAD_LOG_TABLE)} "
        "where is_current and date_order is not null"
    ).fetchall()
    return [row[0] for row in rows]


def foreign_row_sources(con: duckdb.DuckDBPyConnection) -> list[tuple[str | None, int]]:
    """Sources of ``raw.transactions`` rows that no current load accounts for (e.g. demo data)."""
    return con.execute(
        f"""
        select t.source_file, count(*)
        from {qualified(TRANSACTIONS_TABLE)} as t
        where not exists (
            select 1 from {qualified(LOAD_LOG_TABLE)} as l
            where l.is_current and l.source_file = t.source_file
        )
        group by t.source_file
        order by count(*) desc
        limit 3
        """
    ).fetchall()


def retire_file(con: duckdb.DuckDBPyConnection, logged: LoggedFile) -> None:
    """Remove a file's rows (loaded and rejected) before it is loaded again; keep its log
    rows, marked not current."""
    units = list(logged.source_files)
    con.execute(
        f"delete from {qualified(TRANSACTIONS_TABLE)} where list_contains(?, source_file)",
        [units],
    )
    con.execute(
        f"delete from {qualified(REJECTED_ROWS_TABLE)} where list_contains(?, source_file)",
        [units],
    )
    con.execute(
        f"update {qualified(LOAD_LOG_TABLE)} set is_current = false "
        "where is_current and file_path = ?",
        [logged.file_path],
    )


def refresh_input_capabilities(con: duckdb.DuckDBPyConnection) -> list[tuple[str, bool, str]]:
    """Rewrite ``raw.input_capabilities`` from the current load log and return its rows.

    With no loaded files (e.g. generated demo data) every input counts as available.
    """
    ensure_load_tables(con)
    units = con.execute(
        f"select count(*) from {qualified(LOAD_LOG_TABLE)} where is_current"
    ).fetchall()[0][0]
    rows: list[tuple[str, bool, str]] = []
    for capability in OPTIONAL_CAPABILITIES.values():
        if not units:
            rows.append(
                (capability, True, "no files loaded by `segmentation load`; assumed present")
            )
            continue
        lacking, example = con.execute(
            f"""
            select count(*) filter (where not {capability}),
                min(source_file) filter (where not {capability})
            from {qualified(LOAD_LOG_TABLE)}
            where is_current
            """
        ).fetchall()[0]
        if lacking:
            note = (
                f"missing in {lacking:,} of {units:,} loaded files (e.g. {example}): "
                f"{CAPABILITY_EFFECTS[capability]}"
            )
        else:
            note = f"present in all {units:,} loaded files"
        rows.append((capability, not lacking, note))
    con.execute(f"delete from {qualified(CAPABILITIES_TABLE)}")
    con.executemany(f"insert into {qualified(CAPABILITIES_TABLE)} values (?, ?, ?)", rows)
    return rows


def missing_capability_notes(rows: Sequence[tuple[str, bool, str]]) -> list[str]:
    """Notes for the capabilities that are not available."""
    return [f"{name}: {note}" for name, available, note in rows if not available]


def reason_summary(
    con: duckdb.DuckDBPyConnection, load_id: str, limit: int
) -> list[tuple[str, int, str]]:
    """Rejections of a load grouped by kind (quoted values blanked), most frequent first, each
    with its first example (file, row and reason)."""
    return con.execute(
        f"""
        select regexp_replace(reason, '''[^'']*''', '…', 'g') as kind,
            count(*) as n,
            arg_min(source_file || ' row ' || source_row || ': ' || reason, source_row)
        from {qualified(REJECTED_ROWS_TABLE)}
        where load_id = ?
        group by kind
        order by n desc, kind
        limit {limit}
        """,
        [load_id],
    ).fetchall()


def drop_work_tables(con: duckdb.DuckDBPyConnection, prefix: str) -> None:
    """Drop a load's temp tables and views, named ``<prefix>…`` (they vanish with a rollback,
    not a commit)."""
    pattern = prefix.replace("_", "\\_") + "%"
    for kind, catalog, name in (
        ("view", "duckdb_views()", "view_name"),
        ("table", "duckdb_tables()", "table_name"),
    ):
        names = con.execute(
            f"select {name} from {catalog} where temporary and {name} like ? escape '\\'",
            [pattern],
        ).fetchall()
        for (table,) in names:
            con.execute(f"drop {kind} if exists {table}")

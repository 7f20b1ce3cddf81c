"""The demo log as Arrow tables, chunk by chunk, and writing it into the warehouse.

``generate_chunks`` turns each chunk's planned headers and drawn lines into contract tables
(``raw.transactions`` and the planted truth ``raw.customer_archetypes``); ``write_demo`` stages
them chunk by chunk and swaps them in at once, so memory stays flat however big the log is and
readers never see half a log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentation.demo.archetypes import ARCHETYPE_NAMES
from segmentation.demo.config import DemoConfig
from segmentation.demo.context import Context, build_context
from segmentation.demo.lines import Lines, chunk_lines
from segmentation.demo.orders import (
    PREFIXES_BY_CODE,
    Customers,
    Headers,
    invoice_day_offsets,
    invoice_numbers,
    plan_chunk,
)
from segmentation.io import warehouse
from segmentation.io.contract import (
    ARCHETYPE_COLUMNS,
    ARCHETYPES_TABLE,
    DEMO_SOURCE_PREFIX,
    RAW_SCHEMA,
    TRANSACTION_COLUMNS,
    TRANSACTIONS_TABLE,
    create_table_sql,
)

# Tables in the raw schema that hold the chunks until they are swapped in (then dropped).
STAGING_TRANSACTIONS = "demo_staging_transactions"
STAGING_ARCHETYPES = "demo_staging_customer_archetypes"

# Arrow types of the contract's DuckDB types.
ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "TIMESTAMP": pa.timestamp("us"),
}
TRANSACTIONS_SCHEMA = pa.schema([(n, ARROW_TYPES[t]) for n, t in TRANSACTION_COLUMNS.items()])
ARCHETYPES_SCHEMA = pa.schema([(n, ARROW_TYPES[t]) for n, t in ARCHETYPE_COLUMNS.items()])


@dataclass(frozen=True)
class DemoSummary:
    """What ``write_demo`` wrote."""

    rows: int
    customers: int
    invoices: int
    source_file: str


# --------------------------------------------------------------------------------------------
# Arrow tables
# --------------------------------------------------------------------------------------------


def _transactions_table(
    ctx: Context,
    customers: Customers,
    headers: Headers,
    numbers: np.ndarray,
    lines: Lines,
    first_row: int,
) -> pa.Table:
    """The chunk's lines as a contract table, ordered by invoice number then line."""
    order = np.argsort(numbers[lines.header], kind="stable")
    header = lines.header[order]
    n = header.size
    cat = ctx.catalogue
    prefixes = pa.array(PREFIXES_BY_CODE, type=pa.string()).take(headers.prefix[header])
    invoice = pc.binary_join_element_wise(
        prefixes, pc.cast(pa.array(numbers[header]), pa.string()), ""
    )
    text = lines.text[order]
    description = cat.descriptions.take(pa.array(np.maximum(text, 0), mask=text < 0))
    customer = headers.customer[header]
    customer_id = customers.ids.take(pa.array(np.maximum(customer, 0), mask=customer < 0))
    seconds = (headers.day[header] * 86_400 + headers.minute[header] * 60) * 1_000_000
    epoch = np.datetime64(ctx.calendar.start, "us").astype(np.int64)
    columns = {
        "invoice_id": invoice,
        "stock_code": cat.codes.take(pa.array(lines.code[order])),
        "description": description,
        "quantity": pa.array(lines.quantity[order], type=pa.int64()),
        "unit_price": pa.array(np.round(lines.price[order], 2), type=pa.float64()),
        "invoiced_at": pa.array(epoch + seconds, type=pa.timestamp("us")),
        "customer_id": customer_id,
        "country": ctx.countries.take(pa.array(headers.country[header])),
        "source_file": pa.array([ctx.config.source_file], type=pa.string()).take(
            pa.array(np.zeros(n, dtype=np.int64))
        ),
        "source_row": pa.array(first_row + np.arange(1, n + 1), type=pa.int64()),
    }
    return pa.Table.from_pydict(columns, schema=TRANSACTIONS_SCHEMA)


def _archetypes_table(customers: Customers) -> pa.Table:
    """The chunk's customers with the name of their archetype."""
    names = pa.array(ARCHETYPE_NAMES, type=pa.string()).take(pa.array(customers.archetype))
    return pa.Table.from_arrays([customers.ids, names], schema=ARCHETYPES_SCHEMA)


def generate_chunks(config: DemoConfig) -> Iterator[tuple[pa.Table, pa.Table]]:
    """Yield ``(transactions, archetypes)`` Arrow tables, one pair per chunk of customers.

    Tables follow ``contract.TRANSACTION_COLUMNS`` and ``contract.ARCHETYPE_COLUMNS``;
    ``source_row`` counts rows 1, 2, … across all chunks. Every customer in an archetypes
    chunk has at least one transaction in the matching transactions chunk.
    """
    ctx = build_context(config)
    offsets = invoice_day_offsets(ctx)
    rows = 0
    for chunk in range(ctx.n_chunks):
        customers, headers = plan_chunk(ctx, chunk)
        numbers = invoice_numbers(headers, offsets[chunk])
        lines = chunk_lines(ctx, chunk, customers, headers)
        table = _transactions_table(ctx, customers, headers, numbers, lines, rows)
        rows += table.num_rows
        yield table, _archetypes_table(customers)


# --------------------------------------------------------------------------------------------
# Writing into the warehouse
# --------------------------------------------------------------------------------------------


def _refuse_mixing(con: duckdb.DuckDBPyConnection, config: DemoConfig, replace: bool) -> None:
    """``ValueError`` when the demo log would replace or mix with loaded data, or (without
    ``replace``) when rows of the same ``source_file`` are already there."""
    transactions = f"{RAW_SCHEMA}.{TRANSACTIONS_TABLE}"
    loaded = con.execute(
        f"select count(*) from {transactions} where not starts_with(source_file, ?)",
        [DEMO_SOURCE_PREFIX],
    ).fetchall()[0][0]
    if loaded:
        raise ValueError(
            f"{transactions} already holds {loaded:,} rows of loaded data; demo data would "
            "replace or mix with them: generate it into another warehouse (--database)"
        )
    if not replace:
        present = con.execute(
            f"select count(*) from {transactions} where source_file = ?", [config.source_file]
        ).fetchall()[0][0]
        if present:
            raise ValueError(
                f"{transactions} already holds {present} rows from {config.source_file}; "
                "use replace=True to regenerate them"
            )


def _append(
    con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], data: pa.Table
) -> None:
    """Append an Arrow table to ``raw.<table>`` (columns by name)."""
    names = ", ".join(columns)
    view = f"demo_chunk_{table}"
    con.register(view, data)
    try:
        con.execute(f"insert into {RAW_SCHEMA}.{table} ({names}) select {names} from {view}")
    finally:
        con.unregister(view)


def _stage_chunks(con: duckdb.DuckDBPyConnection, config: DemoConfig) -> DemoSummary:
    """Generate the log into the (existing, empty) staging tables, chunk by chunk."""
    rows = customers = invoices = 0
    for table, truth in generate_chunks(config):
        _append(con, STAGING_TRANSACTIONS, TRANSACTION_COLUMNS, table)
        _append(con, STAGING_ARCHETYPES, ARCHETYPE_COLUMNS, truth)
        rows += table.num_rows
        customers += truth.num_rows
        invoices += pc.count_distinct(table["invoice_id"]).as_py()
    return DemoSummary(rows, customers, invoices, config.source_file)


def _swap_in(
    con: duckdb.DuckDBPyConnection,
    targets: dict[str, tuple[str, dict[str, str]]],
    replace: bool,
) -> None:
    """In one transaction, copy every staging table into its target (emptied first with
    ``replace``)."""
    con.begin()
    try:
        for target, (staging, columns) in targets.items():
            names = ", ".join(columns)
            if replace:
                con.execute(f"delete from {target}")
            con.execute(
                f"insert into {target} ({names}) select {names} from {RAW_SCHEMA}.{staging}"
            )
        con.commit()
    except BaseException:
        con.rollback()
        raise


def write_demo(
    con: duckdb.DuckDBPyConnection, config: DemoConfig, replace: bool = True
) -> DemoSummary:
    """Generate the demo log into ``raw.transactions`` and ``raw.customer_archetypes``.

    Refused (``ValueError``) when the warehouse already holds loaded, non-demo data.

    Chunks are first appended to staging tables (committed chunk by chunk, so memory stays
    flat however big the log is); then one transaction empties the two raw tables (with
    ``replace``, the default), copies the staged rows in and drops the staging tables, so
    readers see either the previous contents or the complete new log. Without ``replace``
    rows are appended, which is refused when rows of the same ``source_file`` are there.
    """
    warehouse.ensure_raw_tables(con)
    targets = {
        f"{RAW_SCHEMA}.{TRANSACTIONS_TABLE}": (STAGING_TRANSACTIONS, TRANSACTION_COLUMNS),
        f"{RAW_SCHEMA}.{ARCHETYPES_TABLE}": (STAGING_ARCHETYPES, ARCHETYPE_COLUMNS),
    }
    _refuse_mixing(con, config, replace)
    for staging, columns in targets.values():
        con.execute(f"drop table if exists {RAW_SCHEMA}.{staging}")
        con.execute(create_table_sql(staging, columns))
    try:
        summary = _stage_chunks(con, config)
        _swap_in(con, targets, replace)
    finally:
        for staging, _ in targets.values():
            con.execute(f"drop table if exists {RAW_SCHEMA}.{staging}")
    return summary

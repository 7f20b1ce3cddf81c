"""The input contract: the raw tables every loader writes and the dbt sources read.

One table of transaction lines (``raw.transactions``) is the core input. Every row keeps
where it came from (``source_file``, ``source_row``) so a problem can always be traced to a
file and a line. ``raw.customer_archetypes`` holds the planted truth of generated demo data
(empty for real data); it is used for validation only, never as a feature.
"""

from __future__ import annotations

RAW_SCHEMA = "raw"

TRANSACTIONS_TABLE = "transactions"
ARCHETYPES_TABLE = "customer_archetypes"

# source_file of generated demo rows starts with this (e.g. ``demo://seed=42``).
DEMO_SOURCE_PREFIX = "demo://"

# Column name -> DuckDB type, in table order.
TRANSACTION_COLUMNS: dict[str, str] = {
    "invoice_id": "VARCHAR",
    "stock_code": "VARCHAR",
    "description": "VARCHAR",
    "quantity": "BIGINT",
    "unit_price": "DOUBLE",
    "invoiced_at": "TIMESTAMP",
    "customer_id": "VARCHAR",
    "country": "VARCHAR",
    "source_file": "VARCHAR",
    "source_row": "BIGINT",
}

ARCHETYPE_COLUMNS: dict[str, str] = {
    "customer_id": "VARCHAR",
    "archetype": "VARCHAR",
}


def create_table_sql(table: str, columns: dict[str, str], schema: str = RAW_SCHEMA) -> str:
    """DDL that creates ``schema.table`` with ``columns`` when it does not exist yet."""
    body = ",\n    ".join(f"{name} {sql_type}" for name, sql_type in columns.items())
    return f"create table if not exists {schema}.{table} (\n    {body}\n)"

"""The input contract: the raw tables every loader writes and the dbt sources read.

One table of transaction lines (``raw.transactions``) is the core input. Every row keeps
where it came from (``source_file``, ``source_row``) so a problem can always be traced to a
file and a line. ``raw.customer_archetypes`` holds the planted truth of generated demo data
(empty for real data); it is used for validation only, never as a feature.

Two optional inputs sit beside the log, empty when a shop has none: ``raw.customer_attributes``
(long: one row per customer, attribute and loaded file, so any columns fit) and
``raw.engagement_events`` (one row per site or email event, with the user's event type and the
kind it maps to). ``raw.source_load_log`` records their loads as ``raw.load_log`` does the log's.
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

# The optional inputs (segmentation.loading.sources loads them; the demo writes them too).
CUSTOMER_ATTRIBUTES_TABLE = "customer_attributes"
ENGAGEMENT_EVENTS_TABLE = "engagement_events"
SOURCE_LOAD_LOG_TABLE = "source_load_log"

CUSTOMER_ATTRIBUTE_COLUMNS: dict[str, str] = {
    "customer_id": "VARCHAR",
    "attribute_name": "VARCHAR",
    "attribute_value": "VARCHAR",
    "attribute_type": "VARCHAR",  # categorical or numeric
    "as_of_date": "DATE",
    "loaded_at": "TIMESTAMP",
    "source_file": "VARCHAR",
    "source_row": "BIGINT",
}

# The kinds an engagement event maps to; any other type the mapping keeps is ``other``.
ENGAGEMENT_KINDS: tuple[str, ...] = (
    "session",
    "view",
    "cart",
    "email_sent",
    "email_opened",
    "email_clicked",
)
OTHER_EVENT_KIND = "other"

ENGAGEMENT_EVENT_COLUMNS: dict[str, str] = {
    "customer_id": "VARCHAR",
    "occurred_at": "TIMESTAMP",
    "event_type": "VARCHAR",
    "event_kind": "VARCHAR",
    "source_file": "VARCHAR",
    "source_row": "BIGINT",
}

SOURCE_LOAD_LOG_COLUMNS: dict[str, str] = {
    "load_id": "VARCHAR",
    "source_name": "VARCHAR",
    "source_file": "VARCHAR",
    "file_path": "VARCHAR",
    "checksum": "VARCHAR",
    "file_bytes": "BIGINT",
    "rows_read": "BIGINT",
    "rows_loaded": "BIGINT",
    "rows_rejected": "BIGINT",
    "loaded_at": "TIMESTAMP",
    "is_current": "BOOLEAN",
}

ARCHETYPE_COLUMNS: dict[str, str] = {
    "customer_id": "VARCHAR",
    "archetype": "VARCHAR",
}


def create_table_sql(table: str, columns: dict[str, str], schema: str = RAW_SCHEMA) -> str:
    """DDL that creates ``schema.table`` with ``columns`` when it does not exist yet."""
    body = ",\n    ".join(f"{name} {sql_type}" for name, sql_type in columns.items())
    return f"create table if not exists {schema}.{table} (\n    {body}\n)"

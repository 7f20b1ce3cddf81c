"""The optional inputs of a benchmark size, as a shop would hand them over: the demo's customer
attributes (one row per customer, one column per attribute) and engagement events of the size's
customers, each a Parquet file with its mapping.

They come from the demo generator (``write_demo_sources``), run on the same log as the size's
log file (same customers, seed and generator), in a scratch warehouse that is deleted after.
The files are written once next to the log and reused; their names hold the log's name, so a
changed generator or another seed never reuses old ones. The pipeline then loads them with
``segmentation load --source customers|engagement --mapping …``, as a user would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import yaml

from segmentation.benchmark.data import BenchSize, LogFile
from segmentation.demo import DemoConfig, write_demo
from segmentation.demo.sources import write_demo_sources
from segmentation.io import warehouse
from segmentation.loading.reading import quote_identifier, quote_literal


class InputsMismatch(RuntimeError):
    """The demo log the inputs were generated for is not the benchmark's log."""


@dataclass(frozen=True)
class InputFiles:
    """The two files of optional inputs, their mappings and what they hold."""

    customers: Path
    customers_mapping: Path
    engagement: Path
    engagement_mapping: Path
    attribute_customers: int  # customers with at least one attribute
    attribute_values: int
    events: int


def input_paths(log: LogFile) -> InputFiles:
    """Where the inputs of ``log`` are cached (counts unknown: zero)."""
    stem = log.path.with_suffix("")
    return InputFiles(
        customers=Path(f"{stem}-customers.parquet"),
        customers_mapping=Path(f"{stem}-customers.yml"),
        engagement=Path(f"{stem}-engagement.parquet"),
        engagement_mapping=Path(f"{stem}-engagement.yml"),
        attribute_customers=0,
        attribute_values=0,
        events=0,
    )


def _facts_path(log: LogFile) -> Path:
    return Path(f"{log.path.with_suffix('')}-inputs.json")


def ensure_inputs(log: LogFile, size: BenchSize, seed: int) -> InputFiles:
    """The cached inputs of ``log`` (the log of ``size`` and ``seed``), generated when missing.

    Raises :class:`InputsMismatch` when the generator's log has another line count than
    ``log`` (the inputs would describe other customers)."""
    paths = input_paths(log)
    facts_path = _facts_path(log)
    if facts_path.exists() and all(
        p.exists()
        for p in (
            paths.customers,
            paths.customers_mapping,
            paths.engagement,
            paths.engagement_mapping,
        )
    ):
        return _with_facts(paths, json.loads(facts_path.read_text()))
    scratch = Path(f"{log.path.with_suffix('')}-inputs-scratch.duckdb")
    _remove_database(scratch)
    con = warehouse.connect(scratch)
    try:
        warehouse.ensure_raw_tables(con)
        config = DemoConfig(customers=size.customers, months=size.months, seed=seed)
        summary = write_demo(con, config)
        if summary.rows != log.lines:
            raise InputsMismatch(
                f"the demo generator wrote {summary.rows:,} lines for size {size.name}, "
                f"the benchmark's log {log.path.name} has {log.lines:,}"
            )
        sources = write_demo_sources(con, config)
        _write_customers(con, paths)
        _write_engagement(con, paths)
    finally:
        con.close()
        _remove_database(scratch)
    facts = {
        "attribute_customers": sources.customers_with_attributes,
        "attribute_values": sources.attribute_rows,
        "events": sources.events,
    }
    facts_path.write_text(json.dumps(facts))
    return _with_facts(paths, facts)


def _with_facts(paths: InputFiles, facts: dict[str, int]) -> InputFiles:
    return replace(paths, **{name: int(value) for name, value in facts.items()})


def _remove_database(path: Path) -> None:
    path.unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)


def _write_customers(con: duckdb.DuckDBPyConnection, paths: InputFiles) -> None:
    """One row per customer with an attribute, one text column per attribute (empty where the
    customer has none), and the mapping naming the numeric ones."""
    kinds = con.execute(
        "select attribute_name, max(attribute_type) from raw.customer_attributes "
        "group by attribute_name order by attribute_name"
    ).fetchall()
    pivoted = ", ".join(
        f"max(case when attribute_name = {quote_literal(name)} then attribute_value end) "
        f"as {quote_identifier(name)}"
        for name, _ in kinds
    )
    _copy_parquet(
        con,
        f"select customer_id, {pivoted} from raw.customer_attributes "
        "group by customer_id order by customer_id",
        paths.customers,
    )
    mapping = {
        "columns": {"customer_id": "customer_id"},
        "attributes": [name for name, _ in kinds],
        "numeric": [name for name, kind in kinds if kind == "numeric"],
    }
    paths.customers_mapping.write_text(yaml.safe_dump(mapping, sort_keys=False))


def _write_engagement(con: duckdb.DuckDBPyConnection, paths: InputFiles) -> None:
    """Customer, time and type of every event, and the mapping of each type to its kind."""
    _copy_parquet(
        con,
        "select customer_id, occurred_at, event_type from raw.engagement_events "
        "order by occurred_at, customer_id",
        paths.engagement,
    )
    kinds = con.execute(
        "select event_kind, list(distinct event_type order by event_type) "
        "from raw.engagement_events group by event_kind order by event_kind"
    ).fetchall()
    mapping = {
        "columns": {
            "customer_id": "customer_id",
            "occurred_at": "occurred_at",
            "event_type": "event_type",
        },
        "event_types": {kind: list(types) for kind, types in kinds},
    }
    paths.engagement_mapping.write_text(yaml.safe_dump(mapping, sort_keys=False))


def _copy_parquet(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    """``query`` into ``target`` through a temporary name (never a half-written file)."""
    partial = target.with_suffix(".parquet.partial")
    target_literal = quote_literal(str(partial))
    con.execute(f"copy ({query}) to {target_literal} (format parquet, compression zstd)")
    partial.replace(target)

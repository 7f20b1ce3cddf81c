"""The benchmark's inputs: its sizes, a demo log per size as Parquet, and one more day of it.

A size is demo customers and months of history. The demo generator writes about 100 lines per
customer over 25 months (about 10 lines per order); the 50M-line size keeps 8 months so that it
has 1,000,000 customers. A size is named by a preset (``1m``, ``10m``, ``50m``, ``smoke``) or
written ``CUSTOMERSxMONTHS`` (e.g. ``20000x25``).

The pipeline, the floor and the notebook baseline all start from the same Parquet file, as a
user's own log would arrive. Generating a big log takes minutes, so each file is written once
into the benchmark's data folder and reused; its name holds the size, the seed and a
fingerprint of the generator's source, so a changed generator never reuses an old file.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from segmentation import demo
from segmentation.demo import DemoConfig, generate_chunks


class SizeError(ValueError):
    """A size that cannot be parsed; the message names it and the accepted forms."""


@dataclass(frozen=True)
class BenchSize:
    """One benchmark size: ``customers`` demo customers over ``months`` months."""

    name: str
    customers: int
    months: int

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise SizeError(f"size {self.name!r}: customers must be at least 1")
        if not 1 <= self.months <= 1200:
            raise SizeError(f"size {self.name!r}: months must be from 1 to 1200")


# name -> (customers, months); the comment is the line count the generator gives (seed 42)
PRESETS: dict[str, tuple[int, int]] = {
    "smoke": (1_200, 25),  # ~0.14M lines, the size `make test` builds
    "1m": (8_500, 25),  # ~1.07M lines
    "10m": (85_000, 25),  # ~10.7M lines
    "50m": (1_000_000, 8),  # ~51M lines
}
DEFAULT_SIZES = ("1m", "10m", "50m")

_CUSTOM = re.compile(r"(\d+)x(\d+)")


def parse_size(text: str) -> BenchSize:
    """A preset name or ``CUSTOMERSxMONTHS``; :class:`SizeError` otherwise."""
    name = text.strip().lower().replace("_", "")
    if name in PRESETS:
        customers, months = PRESETS[name]
        return BenchSize(name, customers, months)
    match = _CUSTOM.fullmatch(name)
    if match is None:
        raise SizeError(
            f"unknown size {text!r}: use one of {', '.join(PRESETS)} or CUSTOMERSxMONTHS "
            "(e.g. 20000x25)"
        )
    return BenchSize(name, int(match.group(1)), int(match.group(2)))


def parse_sizes(text: str) -> list[BenchSize]:
    """Comma-separated sizes, in the order given, each at most once."""
    sizes: list[BenchSize] = []
    for part in text.split(","):
        if not part.strip():
            continue
        size = parse_size(part)
        if size not in sizes:
            sizes.append(size)
    if not sizes:
        raise SizeError("no size given")
    return sizes


# The columns of the input contract a log file carries (the loader adds source_file/_row).
LOG_COLUMNS = (
    "invoice_id",
    "stock_code",
    "description",
    "quantity",
    "unit_price",
    "invoiced_at",
    "customer_id",
    "country",
)
# Appended to the invoice ids of the next day's copy, so they never clash with the log's.
NEXT_DAY_SUFFIX = "-D2"


@dataclass(frozen=True)
class LogFile:
    """A generated log: where it is, its lines and its customers (with at least one line)."""

    path: Path
    lines: int
    customers: int


def generator_fingerprint() -> str:
    """Eight hex digits that change whenever the source of any module of the demo generator
    (the ``segmentation.demo`` package) changes."""
    digest = hashlib.sha256()
    names = sorted(info.name for info in pkgutil.iter_modules(demo.__path__))
    for name in ["", *names]:
        module = importlib.import_module(f"{demo.__name__}.{name}" if name else demo.__name__)
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()[:8]


def log_path(folder: Path, size: BenchSize, seed: int) -> Path:
    """Where the log of ``size`` is cached."""
    return folder / (
        f"demo-c{size.customers}-m{size.months}-s{seed}-{generator_fingerprint()}.parquet"
    )


def ensure_log(folder: Path, size: BenchSize, seed: int) -> LogFile:
    """The cached log of ``size``, generating it first when it is missing.

    Written chunk by chunk (memory stays flat) to a temporary name and renamed at the end, so
    an interrupted run never leaves a truncated file behind under the final name.
    """
    path = log_path(folder, size, seed)
    facts_path = path.with_suffix(".json")
    if path.exists() and facts_path.exists():
        facts = json.loads(facts_path.read_text())
        return LogFile(path, int(facts["lines"]), int(facts["customers"]))
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".parquet.partial")
    config = DemoConfig(customers=size.customers, months=size.months, seed=seed)
    lines = customers = 0
    writer: pq.ParquetWriter | None = None
    try:
        for table, truth in generate_chunks(config):
            table = table.select(list(LOG_COLUMNS))
            if writer is None:
                writer = pq.ParquetWriter(partial, table.schema, compression="zstd")
            writer.write_table(table)
            lines += table.num_rows
            customers += truth.num_rows
    finally:
        if writer is not None:
            writer.close()
    partial.replace(path)
    facts_path.write_text(json.dumps({"lines": lines, "customers": customers}))
    return LogFile(path, lines, customers)


def write_next_day(log: LogFile, target: Path) -> LogFile:
    """A copy of the log's last day moved one day later, as the next day's file.

    The same customers buy the same things again the day after the log ends; invoice ids get
    :data:`NEXT_DAY_SUFFIX` (a cancellation keeps its leading ``C``), so nothing clashes with
    the log and every line is new.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        source = f"read_parquet('{_sql_path(log.path)}')"
        select = ", ".join(
            {
                "invoice_id": f"invoice_id || '{NEXT_DAY_SUFFIX}' as invoice_id",
                "invoiced_at": "invoiced_at + interval 1 day as invoiced_at",
            }.get(column, column)
            for column in LOG_COLUMNS
        )
        con.execute(
            f"copy (select {select} from {source} "
            f"where cast(invoiced_at as date) = (select max(cast(invoiced_at as date)) "
            f"from {source})) to '{_sql_path(target)}' (format parquet)"
        )
        lines, customers = con.execute(
            f"select count(*), count(distinct customer_id) from read_parquet('{_sql_path(target)}')"
        ).fetchall()[0]
    finally:
        con.close()
    return LogFile(target, int(lines), int(customers))


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")

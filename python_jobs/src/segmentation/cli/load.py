"""``segmentation load PATH``: load a transaction log (file or folder) into the warehouse.

Examples::

    segmentation load ../shared/data/online_retail/by-day
    segmentation load "online_retail_II.xlsx"
    segmentation load orders.csv --mapping python_jobs/examples/mapping_example.yml
    segmentation load orders.parquet --column customer_id=client --column invoiced_at=ts \\
        --column quantity=qty --column line_total=amount
    segmentation load loyalty.csv --source customers --mapping loyalty_mapping.yml
    segmentation load events/ --source engagement --mapping events_mapping.yml

``--source customers`` and ``--source engagement`` load the optional inputs (customer
attributes, engagement events; see ``segmentation.loading.sources``) with the same guarantees.

Files already loaded are skipped, so running it again on a growing folder loads only the new
files. Everything is one transaction: on an error nothing is written and the exit code is 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import duckdb

from segmentation.errors import JobError
from segmentation.io.warehouse import connect, database_path
from segmentation.loading import (
    FORMAT_CHOICES,
    MAPPABLE_FIELDS,
    LoadError,
    LoadOptions,
    LoadReport,
    load_path,
    parse_column_flags,
)
from segmentation.loading.source_mapping import SOURCE_NAMES
from segmentation.loading.sources import SourceOptions, SourceReport, load_source

Report = TypeVar("Report", LoadReport, SourceReport)
LOG_SOURCE = "log"
# Options of the log only: an optional input states its columns in --mapping.
LOG_ONLY_OPTIONS: tuple[str, ...] = ("format", "column", "date_format", "encoding", "delimiter")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``segmentation load``."""
    parser.add_argument("path", type=Path, help="a file, or a folder of files, to load")
    parser.add_argument(
        "--source",
        choices=(LOG_SOURCE, *SOURCE_NAMES),
        default=LOG_SOURCE,
        help="what the files hold: the transaction log (default), customer attributes or "
        "engagement events (mapping: python_jobs/examples/customers_mapping_example.yml, "
        "engagement_mapping_example.yml)",
    )
    parser.add_argument(
        "--format",
        choices=FORMAT_CHOICES,
        help="uci / uci2: the UCI Online Retail (II) columns; csv / excel / parquet: the file "
        "type (columns detected from the header or given by a mapping). Default: detect",
    )
    parser.add_argument(
        "--mapping",
        type=Path,
        metavar="FILE",
        help="YAML or JSON column mapping (see python_jobs/examples/mapping_example.yml)",
    )
    parser.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="map one field (repeatable; overrides --mapping). Fields: "
        + ", ".join(MAPPABLE_FIELDS),
    )
    parser.add_argument(
        "--date-format",
        metavar="FMT",
        help="strptime format of the timestamps, e.g. '%%d/%%m/%%Y %%H:%%M' (default: ISO, or "
        "day/month order read from the data; ambiguous dates are an error)",
    )
    parser.add_argument(
        "--encoding", metavar="ENC", help="text encoding of CSV files (default: detect)"
    )
    parser.add_argument("--delimiter", metavar="CHAR", help="CSV delimiter (default: detect)")
    parser.add_argument(
        "--replace-changed",
        action="store_true",
        help="replace the rows of files whose content changed since they were loaded",
    )
    parser.add_argument(
        "--replace-demo",
        action="store_true",
        help="delete generated demo rows first, so your data replaces them (make run DATA=...)",
    )
    parser.add_argument(
        "--database",
        type=Path,
        metavar="DB",
        help="DuckDB warehouse file (default: $SEGMENTS_DUCKDB_PATH or warehouse/segments.duckdb)",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the load and print what it did."""
    if args.source != LOG_SOURCE:
        return _run_source(args)
    try:
        options = LoadOptions(
            fmt=args.format,
            mapping_file=args.mapping,
            columns=parse_column_flags(args.column),
            date_format=args.date_format,
            encoding=args.encoding,
            delimiter=args.delimiter,
            replace_changed=args.replace_changed,
            replace_demo=args.replace_demo,
            show_progress=not args.no_progress,
        )
    except LoadError as error:
        raise JobError(f"{error} (nothing was loaded)") from error
    database = args.database or database_path()
    report = _load_into(database, lambda con: load_path(con, args.path, options))
    print(format_report(report, database))
    return 0


def _load_into(database: Path, load: Callable[[duckdb.DuckDBPyConnection], Report]) -> Report:
    """Run ``load`` on the opened warehouse; a LoadError becomes a JobError."""
    try:
        con = _open(database)
        try:
            return load(con)
        finally:
            con.close()
    except LoadError as error:
        raise JobError(f"{error} (nothing was loaded)") from error


def _run_source(args: argparse.Namespace) -> int:
    """Load an optional input (customer attributes or engagement events)."""
    given = [f"--{name.replace('_', '-')}" for name in LOG_ONLY_OPTIONS if getattr(args, name)]
    if given:
        raise JobError(
            f"{', '.join(given)} apply to the transaction log; for --source {args.source} "
            "state columns and formats in --mapping"
        )
    options = SourceOptions(args.source, args.mapping, args.replace_changed)
    database = args.database or database_path()
    report = _load_into(database, lambda con: load_source(con, args.path, options))
    print(format_source_report(report, database))
    return 0


def format_source_report(report: SourceReport, database: Path) -> str:
    """A short human summary of a load of an optional input."""
    lines = [f"load {report.load_id} ({report.source_name}) into {database}"]
    if report.files:
        lines.append(
            f"  loaded {len(report.files):,} file(s): {report.rows_read:,} rows read, "
            f"{report.rows_loaded:,} loaded, {report.rows_rejected:,} rejected "
            f"in {report.elapsed_seconds:.1f} s"
        )
    else:
        lines.append(f"  nothing new to load ({report.elapsed_seconds:.1f} s)")
    lines.extend(f"  skipped {name}: {why}" for name, why in report.skipped)
    _append_reasons(lines, report.reasons, report.load_id)
    lines.extend(f"  note: {note}" for note in report.notes)
    return "\n".join(lines)


def _append_reasons(lines: list[str], reasons: list[tuple[str, int, str]], load_id: str) -> None:
    """The rejected rows by reason, and where to find them all."""
    if not reasons:
        return
    lines.append("  rejected rows by reason:")
    for kind, count, example in reasons:
        lines.append(f"    {count:>9,}  {kind}  (e.g. {example})")
    lines.append(
        f"  all rejected rows: select * from raw.rejected_rows where load_id = '{load_id}'"
    )


def _open(database: Path) -> duckdb.DuckDBPyConnection:
    try:
        return connect(database)
    except duckdb.Error as error:
        raise LoadError(
            f"cannot open the warehouse {database}: {error} (is another process using it?)"
        ) from error


def format_report(report: LoadReport, database: Path) -> str:
    """A short human summary of a load."""
    lines = [f"load {report.load_id} into {database}"]
    if report.units:
        replaced = sum(u.replaced for u in report.units)
        lines.append(
            f"  loaded {report.files_loaded:,} file(s): {report.rows_read:,} rows read, "
            f"{report.rows_loaded:,} loaded, {report.rows_rejected:,} rejected "
            f"in {report.elapsed_seconds:.1f} s"
            + (f" ({replaced} unit(s) replaced)" if replaced else "")
        )
    else:
        lines.append(f"  nothing new to load ({report.elapsed_seconds:.1f} s)")
    if report.skipped:
        reasons: dict[str, int] = {}
        for _, why in report.skipped:
            kind = "already loaded" if why == "already loaded" else "same content as another file"
            reasons[kind] = reasons.get(kind, 0) + 1
        summary = ", ".join(f"{n:,} {kind}" for kind, n in reasons.items())
        lines.append(f"  skipped {len(report.skipped):,} file(s): {summary}")
    if report.ignored:
        shown = ", ".join(report.ignored[:3]) + (" …" if len(report.ignored) > 3 else "")
        lines.append(f"  ignored {len(report.ignored):,} file(s) of unknown type: {shown}")
    _append_reasons(lines, report.reasons, report.load_id)
    lines.extend(f"  note: {note}" for note in report.notes)
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - use `segmentation load`
    from segmentation.cli import main

    sys.exit(main(["load", *sys.argv[1:]]))

"""``segmentation demo``: generate the deterministic demo transaction log into the warehouse.

Writes ``raw.transactions`` and ``raw.customer_archetypes`` (see ``segmentation.demo``), then
the optional inputs ``raw.customer_attributes`` and ``raw.engagement_events`` (not with
``--log-only``), and prints a one-line summary. ``--if-empty`` leaves a warehouse that
already has transactions alone, so ``make run`` never overwrites real or earlier data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from segmentation.demo import DEFAULT_END_DATE, DemoConfig, write_demo
from segmentation.demo.sources import write_demo_sources
from segmentation.errors import JobError
from segmentation.io import warehouse

DEFAULTS = DemoConfig()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--customers",
        type=int,
        default=DEFAULTS.customers,
        help=f"number of customers (default {DEFAULTS.customers}; about 100 lines each)",
    )
    parser.add_argument(
        "--months",
        type=int,
        default=DEFAULTS.months,
        help=f"calendar months of history ending at --end-date (default {DEFAULTS.months})",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULTS.seed, help=f"random seed (default {DEFAULTS.seed})"
    )
    parser.add_argument(
        "--end-date",
        default=DEFAULT_END_DATE.isoformat(),
        metavar="YYYY-MM-DD",
        help=f"last day of the log (default {DEFAULT_END_DATE.isoformat()})",
    )
    parser.add_argument(
        "--if-empty",
        action="store_true",
        help="do nothing when raw.transactions already has rows",
    )
    parser.add_argument(
        "--log-only",
        action="store_true",
        help="write the transaction log only, without customer attributes and engagement events",
    )
    parser.add_argument(
        "--database",
        type=Path,
        default=None,
        help="DuckDB file (default $SEGMENTS_DUCKDB_PATH or warehouse/segments.duckdb)",
    )


def config_from_args(args: argparse.Namespace) -> DemoConfig:
    """The generator configuration, or a ``JobError`` naming the bad option."""
    if args.customers < 1:
        raise JobError(f"--customers must be at least 1, got {args.customers}")
    if args.months < 1:
        raise JobError(f"--months must be at least 1, got {args.months}")
    if args.seed < 0:
        raise JobError(f"--seed must be zero or positive, got {args.seed}")
    try:
        end_date = dt.date.fromisoformat(str(args.end_date))
    except ValueError:
        raise JobError(
            f"--end-date must be a date like 2026-09-30, got {args.end_date!r}"
        ) from None
    try:
        return DemoConfig(
            customers=args.customers, months=args.months, seed=args.seed, end_date=end_date
        )
    except ValueError as error:
        raise JobError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    path = args.database or warehouse.database_path()
    started = time.perf_counter()
    con = warehouse.connect(path)
    sources = None
    try:
        warehouse.ensure_raw_tables(con)  # an older warehouse gains the optional inputs' tables
        if args.if_empty:
            existing = warehouse.transaction_count(con)
            if existing:
                print(
                    f"demo: raw.transactions in {path} already has {existing:,} rows; "
                    "nothing generated (--if-empty)"
                )
                return 0
        try:
            summary = write_demo(con, config)
        except ValueError as error:
            raise JobError(str(error)) from None
        if not args.log_only:
            sources = write_demo_sources(con, config)
    finally:
        con.close()
    seconds = time.perf_counter() - started
    print(
        f"demo: wrote {summary.rows:,} rows, {summary.customers:,} customers, "
        f"{summary.invoices:,} invoices to {path} in {seconds:.1f} s "
        f"(seed {config.seed}, {config.months} months {config.start_date} to {config.end_date})"
    )
    if sources is not None:
        print(
            f"demo: wrote {sources.events:,} engagement events and {sources.attribute_rows:,} "
            f"attribute values of {sources.customers_with_attributes:,} customers"
        )
    return 0

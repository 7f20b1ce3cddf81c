"""Replaying a folder of daily files month by month, with a build after each month (backfill).

Each step loads the files dated up to a month end (the date is read from the file name,
``YYYY-MM-DD``; files already loaded are skipped by the loader) and runs ``dbt build`` with
``as_of_date`` the day after that month end, so the registry, the assignment history, drift and
migration tables fill up as if the project had run at the end of every month. The last month
of a folder that stops mid-month is built as of the day after its last file.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from segmentation.io.dbt_commands import AS_OF_DATE_ENV_VAR
from segmentation.loading import LoadOptions, LoadReport, load_path
from segmentation.loading.formats import discover_files

DATE_IN_NAME = re.compile(r"(?<![0-9])([0-9]{4}-[0-9]{2}-[0-9]{2})(?![0-9])")
MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


class ReplayError(ValueError):
    """The folder or the month range cannot be replayed (the message says why)."""


@dataclass(frozen=True)
class ReplayStep:
    """One month: load files dated up to ``month_end``, then build as of ``as_of_date``."""

    month_end: dt.date
    as_of_date: dt.date


def file_date(path: Path) -> dt.date:
    """The date in a daily file's name (``2011-01-04.csv``); ReplayError names the file."""
    match = DATE_IN_NAME.search(path.name)
    if match is None:
        raise ReplayError(f"{path}: no date YYYY-MM-DD in the file name; replay needs daily files")
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError as error:
        raise ReplayError(f"{path}: {match.group(1)} is not a real date ({error})") from error


def folder_dates(folder: Path) -> list[dt.date]:
    """The dates of every loadable file of ``folder``, sorted."""
    if not folder.is_dir():
        raise ReplayError(f"{folder}: not a folder of daily files")
    files, _ = discover_files(folder)
    return sorted(file_date(source.path) for source in files)


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` as the first day of that month."""
    if not MONTH.fullmatch(text or ""):
        raise ReplayError(f"months are written YYYY-MM, got {text!r}")
    year, month = int(text[:4]), int(text[5:])
    if not 1 <= month <= 12:
        raise ReplayError(f"{text!r} has no month {month}")
    return dt.date(year, month, 1)


def month_end(day: dt.date) -> dt.date:
    """The last day of ``day``'s month."""
    following = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def plan_steps(
    dates: Sequence[dt.date],
    first: dt.date | None = None,
    last: dt.date | None = None,
    months: int | None = None,
) -> list[ReplayStep]:
    """One step per month from ``first`` (default: the first file's month) to ``last``
    (default: the last file's month), at most ``months`` of them."""
    if not dates:
        raise ReplayError("the folder holds no daily files")
    start = (first or dates[0]).replace(day=1)
    stop = (last or dates[-1]).replace(day=1)
    if start > stop:
        raise ReplayError(f"--from {start:%Y-%m} lies after --to {stop:%Y-%m}")
    if start > dates[-1]:
        raise ReplayError(f"--from {start:%Y-%m} lies after the last file ({dates[-1]})")
    if months is not None and months < 1:
        raise ReplayError(f"--months must be at least 1, got {months}")
    steps: list[ReplayStep] = []
    current = start
    while current <= stop and current <= dates[-1]:
        end = month_end(current)
        as_of = min(end, dates[-1]) + dt.timedelta(days=1)
        steps.append(ReplayStep(month_end=end, as_of_date=as_of))
        current = end + dt.timedelta(days=1)
        if months is not None and len(steps) == months:
            break
    return steps


def build_environment(as_of: dt.date, extra: Mapping[str, Any]) -> dict[str, str]:
    """What a step adds to dbt's environment: the month's as-of date. It goes through the
    environment (macro as_of_date_setting), not the vars, so the vars stay the same from month to
    month and dbt keeps its partial parsing; a user's as_of_date var is refused."""
    if "as_of_date" in extra:
        raise ReplayError("replay sets as_of_date itself (one per month); leave it out of --vars")
    return {AS_OF_DATE_ENV_VAR: as_of.isoformat()}


@dataclass
class StepResult:
    step: ReplayStep
    load: LoadReport
    build_exit_code: int


def run_replay(
    folder: Path,
    database: Path,
    steps: Sequence[ReplayStep],
    build: Callable[[ReplayStep], int],
    options: LoadOptions | None = None,
    report: Callable[[str], None] = print,
) -> list[StepResult]:
    """Load and build step by step; stops at the first failing build (its result is last)."""
    results: list[StepResult] = []
    for number, step in enumerate(steps, start=1):
        con = duckdb.connect(str(database))
        try:
            loaded = load_path(
                con,
                folder,
                options,
                select=lambda path, end=step.month_end: file_date(path) <= end,
            )
        finally:
            con.close()
        report(
            f"step {number}/{len(steps)}: files up to {step.month_end}: "
            f"{loaded.rows_loaded:,} rows from {loaded.files_loaded} new file(s); "
            f"dbt build as of {step.as_of_date}"
        )
        code = build(step)
        results.append(StepResult(step, loaded, code))
        if code != 0:
            break
    return results

"""The checks `make run` makes before `dbt build`, one job each:

- `segmentation check-vars`: validate the project's dbt vars (and a --vars override);
- `segmentation check-lock`: stop when another process holds the warehouse.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from segmentation.config.varcheck import VarError, check_project_vars
from segmentation.errors import JobError
from segmentation.io.locks import ensure_unlocked
from segmentation.io.warehouse import database_path

# -- check-vars -------------------------------------------------------------------------------


def add_vars_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--vars",
        default=None,
        metavar="YAML",
        help="the override you will pass to dbt, e.g. '{as_of_date: 2011-06-01}'",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=Path("."),
        help="folder holding dbt_project.yml (default: the current folder)",
    )


def run_vars(args: argparse.Namespace) -> int:
    try:
        report = check_project_vars(args.project_dir, args.vars)
    except VarError as error:
        raise JobError(str(error)) from error
    if not report.ok:
        count = len(report.errors)
        lines = "\n".join(f"  - {message}" for message in report.errors)
        raise JobError(
            f"{count} dbt var{'s are' if count > 1 else ' is'} not valid; nothing was run:\n{lines}"
        )
    for name in report.unruled:
        print(f"note: var {name} has no rule in segmentation/varcheck.py; checked as plain text")
    print(f"dbt vars OK: {', '.join(sorted(report.values))}")
    return 0


# -- check-lock -------------------------------------------------------------------------------


def add_lock_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        type=Path,
        default=None,
        help="warehouse file (default: $SEGMENTS_DUCKDB_PATH)",
    )


def run_lock(args: argparse.Namespace) -> int:
    path = args.database or database_path()
    if not path.exists():
        print(f"{path}: no warehouse yet, nothing holds it")
        return 0
    ensure_unlocked(path, purpose="dbt build cannot write to it now")
    print(f"{path}: no other process holds it; a build can write to it")
    return 0

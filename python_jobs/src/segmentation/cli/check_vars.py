"""`segmentation check-vars`: validate the project's dbt vars (and a --vars override) before dbt."""

from __future__ import annotations

import argparse
from pathlib import Path

from segmentation.config.varcheck import VarError, check_project_vars
from segmentation.errors import JobError


def add_arguments(parser: argparse.ArgumentParser) -> None:
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


def run(args: argparse.Namespace) -> int:
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

"""`segmentation check-lock`: stop before `dbt build` when another process holds the warehouse."""

from __future__ import annotations

import argparse
from pathlib import Path

from segmentation.io.locks import ensure_unlocked
from segmentation.io.warehouse import database_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        type=Path,
        default=None,
        help="warehouse file (default: $SEGMENTS_DUCKDB_PATH)",
    )


def run(args: argparse.Namespace) -> int:
    path = args.database or database_path()
    if not path.exists():
        print(f"{path}: no warehouse yet, nothing holds it")
        return 0
    ensure_unlocked(path, purpose="dbt build cannot write to it now")
    print(f"{path}: no other process holds it; a build can write to it")
    return 0

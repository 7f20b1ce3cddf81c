"""`segmentation charts`: draw the segmentation charts from the warehouse for dbt docs.

Run it after `dbt build` (and before `dbt docs generate`, whose asset-paths copy the folder into
the docs site). The warehouse is opened read-only and closed afterwards.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from segmentation.charts import DEFAULT_CHARTS_DIR
from segmentation.errors import JobError
from segmentation.io.warehouse import database_path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        type=Path,
        default=None,
        help="warehouse file (default: $SEGMENTS_DUCKDB_PATH)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"folder for the PNG files (default: {DEFAULT_CHARTS_DIR}, the folder that "
        "dbt_project.yml's asset-paths copy into the docs site)",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="CHART",
        help="draw only this chart (repeatable), e.g. segment_sizes; an unknown name lists them",
    )


def run(args: argparse.Namespace) -> int:
    # imported here: drawing pulls in matplotlib, seaborn and scikit-learn
    from segmentation.charts import DRAWN, FAILED, INDEX_FILE, render_charts, select_charts

    database = args.database or database_path()
    output = args.output or DEFAULT_CHARTS_DIR
    try:
        select_charts(args.only)
    except ValueError as error:
        raise JobError(str(error)) from error
    results = render_charts(database, output, names=args.only)
    drawn = sum(result.status == DRAWN for result in results)
    print(f"{drawn} of {len(results)} charts drawn in {output} (index: {output / INDEX_FILE})")
    failed = [result.name for result in results if result.status == FAILED]
    if failed:
        raise JobError(f"chart(s) {', '.join(failed)} failed to draw (reasons above)")
    if drawn == 0:
        raise JobError(f"no chart could be drawn from {database}: run `dbt build` first")
    return 0

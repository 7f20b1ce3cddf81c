"""``segmentation replay FOLDER``: backfill history by loading daily files month by month and
running ``dbt build`` after each month (as-of dates advancing).

Examples::

    segmentation replay ../shared/data/online_retail/by-day
    segmentation replay ../shared/data/online_retail/by-day --from 2010-12 --months 3 \\
        --vars '{segmentation: {algorithms: [kmeans], kmeans: {k_min: 3, k_max: 5}}}'

Use a warehouse without demo rows (``--database`` or ``$SEGMENTS_DUCKDB_PATH``). Each month's
build records a scoring run (ml_registry_runs), its assignments (mon_assignment_history), the
drift against the kept model and the migration from the month before; the model is retrained
when the retraining policy says so. Exit code 2 when a build fails (later months are not run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from segmentation.config.varcheck import VarError, check_project_vars, parse_override
from segmentation.errors import JobError
from segmentation.io.dbt_commands import PRODUCTION_BUILD_ARGS
from segmentation.io.warehouse import DATABASE_ENV_VAR, database_path
from segmentation.loading import LoadError
from segmentation.publish.replay import (
    ReplayError,
    ReplayStep,
    build_environment,
    folder_dates,
    parse_month,
    plan_steps,
    run_replay,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``segmentation replay``."""
    parser.add_argument("folder", type=Path, help="folder of daily files named YYYY-MM-DD.*")
    parser.add_argument(
        "--database", type=Path, help=f"warehouse file (default ${DATABASE_ENV_VAR})"
    )
    parser.add_argument("--from", dest="first", metavar="YYYY-MM", help="first month to build")
    parser.add_argument("--to", dest="last", metavar="YYYY-MM", help="last month to build")
    parser.add_argument("--months", type=int, help="build at most this many months")
    parser.add_argument(
        "--vars", default="", help="dbt vars for every build (YAML); as_of_date is set per month"
    )
    parser.add_argument("--project-dir", type=Path, default=Path("."), help="the dbt project")
    parser.add_argument("--target-path", type=Path, help="dbt target folder (default: dbt's)")
    parser.add_argument("--log-path", type=Path, help="dbt log folder (default: dbt's)")
    parser.add_argument(
        "--dbt-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for every dbt build (repeatable), e.g. --dbt-arg=--select "
        "--dbt-arg=+models/monitoring",
    )


def dbt_command(args: argparse.Namespace, extra_vars: dict) -> list[str]:
    """The `dbt build` command line of every step (the same each month: the as-of date goes
    through the environment, see build_environment)."""
    command = [str(_dbt_executable()), "build", *PRODUCTION_BUILD_ARGS]
    command += ["--project-dir", str(args.project_dir)]
    command += ["--vars", json.dumps(extra_vars)]  # the month's as-of date: build_environment
    if args.target_path:
        command += ["--target-path", str(args.target_path)]
    if args.log_path:
        command += ["--log-path", str(args.log_path)]
    return command + list(args.dbt_arg)


def run(args: argparse.Namespace) -> int:
    """Plan the months, check the vars, then load and build month by month."""
    database = args.database or database_path()
    try:
        extra_vars = parse_override(args.vars)
        report = check_project_vars(args.project_dir, args.vars)
        if not report.ok:
            raise JobError("; ".join(report.errors))
        steps = plan_steps(
            folder_dates(args.folder),
            parse_month(args.first) if args.first else None,
            parse_month(args.last) if args.last else None,
            args.months,
        )
        build_environment(steps[0].as_of_date, extra_vars)  # refuses a user as_of_date early
    except (ReplayError, VarError) as error:
        raise JobError(str(error)) from error
    env = {
        **os.environ,
        DATABASE_ENV_VAR: str(database),
        "DBT_PROFILES_DIR": os.environ.get("DBT_PROFILES_DIR", str(args.project_dir)),
    }

    def build(step: ReplayStep) -> int:
        month = {**env, **build_environment(step.as_of_date, extra_vars)}
        return subprocess.run(dbt_command(args, extra_vars), env=month).returncode

    try:
        results = run_replay(args.folder, database, steps, build)
    except (LoadError, ReplayError) as error:
        raise JobError(str(error)) from error
    failed = [result for result in results if result.build_exit_code != 0]
    if failed:
        raise JobError(
            f"dbt build failed for the month ending {failed[0].step.month_end} (exit code "
            f"{failed[0].build_exit_code}); later months were not built"
        )
    print(f"replayed {len(results)} month(s) into {database}")
    return 0


def _dbt_executable() -> Path:
    beside = Path(sys.executable).with_name("dbt")
    return beside if beside.exists() else Path("dbt")

"""``segmentation fit-model``: the model fit beside dbt, on a target whose adapter cannot run
Python models (PostgreSQL, Spark in a local session).

    segmentation fit-model --target postgres --build-inputs
    dbt build --target postgres

With ``--build-inputs`` it first builds what the fit reads with dbt (``dbt build --select
+fct_customer_features +persona_rules …``: every model or seed a Python model refs that needs
no Python model itself); then it reads a bounded, deterministic sample of the features (the var
``fit_sample_size``), runs the project's Python models on it in dbt's order and writes their
tables (registry, kept model, evaluation, personas) through the engine's own client, staged and
swapped so that a failed fit leaves the last good tables. ``dbt build`` then scores every
customer with the kept model in SQL and builds the marts and tests. See
:mod:`segmentation.warehouse_fit`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from segmentation.config.varcheck import VarError, check_project_vars, parse_override
from segmentation.errors import JobError
from segmentation.warehouse_fit.plan import build_inputs_args, build_rest_args
from segmentation.warehouse_fit.target import dbt_command

SAMPLE_SIZE_VAR = "fit_sample_size"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", default=None, help="dbt target (default: the profile's)")
    parser.add_argument(
        "--project-dir", type=Path, default=Path("."), help="dbt project folder (default: here)"
    )
    parser.add_argument(
        "--profiles-dir",
        type=Path,
        default=None,
        help="folder of profiles.yml (default: $DBT_PROFILES_DIR, else the project folder)",
    )
    parser.add_argument("--vars", default=None, metavar="YAML", help="dbt vars, as for dbt")
    parser.add_argument(
        "--build-inputs",
        action="store_true",
        help="first dbt build what the fit reads (fct_customer_features and its parents, …)",
    )
    parser.add_argument(
        "--unit-tests",
        action="store_true",
        help="with --build-inputs, run the dbt unit tests of those models too (CI)",
    )


def run(args: argparse.Namespace) -> int:
    from segmentation.warehouse_fit.plan import PlanError
    from segmentation.warehouse_fit.runner import FitError, Runner
    from segmentation.warehouse_fit.target import (
        TargetError,
        open_warehouse,
        parse_plan,
        target_settings,
    )
    from segmentation.warehouse_fit.warehouses import WarehouseError

    project = args.project_dir.resolve()
    profiles = (args.profiles_dir or Path(os.environ.get("DBT_PROFILES_DIR", project))).resolve()
    sample_size = _sample_size(project, args.vars)
    started = time.perf_counter()
    try:
        settings = target_settings(project, profiles, args.target, parse_override(args.vars))
        plan = parse_plan(project, profiles, args.target, args.vars)
        if args.build_inputs:
            _build_inputs(plan.upstream_inputs, project, profiles, args)
        print(f"fit-model: {len(plan.steps)} Python models on {settings['type']}")
        warehouse = open_warehouse(settings, project)
        try:
            result = Runner(plan, warehouse, sample_size).run()
            writes = result.writes(plan)
            warehouse.replace_tables(writes)
        finally:
            warehouse.close()
    except (TargetError, PlanError, FitError, WarehouseError) as error:
        raise JobError(f"{error}\nthe tables the fit writes were left as they were") from error
    rest = build_rest_args(plan.upstream_inputs) if args.build_inputs else ["build"]
    print(
        f"fit-model: {len(writes)} tables written from a sample of {result.sample_rows}"
        f" customers in {time.perf_counter() - started:.0f} s; now:\n  dbt {' '.join(rest)}"
        + (f" --target {args.target}" if args.target else "")
        + (f" --vars '{args.vars}'" if args.vars else "")
    )
    return 0


def _sample_size(project: Path, vars_text: str | None) -> int:
    try:
        report = check_project_vars(project, vars_text)
    except VarError as error:
        raise JobError(str(error)) from error
    if not report.ok:
        raise JobError("dbt vars are not valid: " + "; ".join(report.errors))
    return int(report.values[SAMPLE_SIZE_VAR])


def _build_inputs(
    inputs: Sequence[str], project: Path, profiles: Path, args: argparse.Namespace
) -> None:
    command = dbt_command(
        build_inputs_args(inputs, unit_tests=args.unit_tests),
        project,
        args.target,
        args.vars,
    )
    print(f"fit-model: {' '.join(command[1:])}", flush=True)
    done = subprocess.run(
        command, cwd=project, env={**os.environ, "DBT_PROFILES_DIR": str(profiles)}
    )
    if done.returncode != 0:
        raise JobError(f"dbt build of the fit's inputs failed (exit {done.returncode})")

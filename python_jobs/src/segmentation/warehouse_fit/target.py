"""The dbt target the fit runs against: its credentials, its manifest and its client.

The credentials are read from ``profiles.yml`` exactly as dbt renders them (environment
variables and ``--vars`` included), and the plan from the manifest of ``dbt parse`` for the
same target, so the fit writes where dbt reads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from segmentation.warehouse_fit.plan import Plan, plan_from_manifest, read_manifest
from segmentation.warehouse_fit.warehouses import (
    DuckDBWarehouse,
    PostgresWarehouse,
    SparkWarehouse,
    Warehouse,
)

# Adapters whose dbt runs the Python models itself: the fit command is not needed there.
PYTHON_MODEL_ADAPTERS = ("duckdb", "databricks", "snowflake", "bigquery")
SUPPORTED = ("postgres", "spark", "duckdb")


class TargetError(RuntimeError):
    """The target cannot be used for the fit (the message says why and what to do)."""


def profile_name(project_dir: Path) -> str:
    """The ``profile:`` of ``dbt_project.yml``."""
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text()) or {}
    return str(project["profile"])


def target_settings(
    project_dir: Path, profiles_dir: Path, target: str | None, cli_vars: Mapping[str, Any]
) -> dict[str, Any]:
    """The rendered output ``target`` (None: the profile's default) of the project's profile."""
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    set_invocation_context(os.environ)  # what env_var() in profiles.yml reads
    name = profile_name(project_dir)
    profiles = read_profile(str(profiles_dir))
    if name not in profiles:
        raise TargetError(f"{profiles_dir}/profiles.yml has no profile {name!r}")
    _, settings = Profile.render_profile(
        profiles[name], name, target, ProfileRenderer(dict(cli_vars))
    )
    return dict(settings)


def open_warehouse(settings: Mapping[str, Any], project_dir: Path) -> Warehouse:
    """A client of the target's engine (see :mod:`.warehouses`)."""
    kind = str(settings.get("type"))
    if kind == "postgres":
        return PostgresWarehouse.connect(settings)
    if kind == "spark":
        if settings.get("method") != "session":
            raise TargetError(
                "the fit reaches Spark through a local session (method: session); on a cluster"
                " (Databricks) dbt runs the Python models itself"
            )
        return SparkWarehouse.open(settings.get("server_side_parameters") or {})
    if kind == "duckdb":
        path = Path(str(settings["path"]))
        return DuckDBWarehouse.connect(str(path if path.is_absolute() else project_dir / path))
    raise TargetError(
        f"the fit command supports targets of type {', '.join(SUPPORTED)}; {kind!r} is not one"
        + (" (dbt runs the Python models there itself)" if kind in PYTHON_MODEL_ADAPTERS else "")
    )


def parse_plan(
    project_dir: Path, profiles_dir: Path, target: str | None, vars_text: str | None
) -> Plan:
    """Run ``dbt parse`` for the target (no connection is opened) and plan from its manifest.

    The manifest goes where dbt puts it (``DBT_TARGET_PATH``, else ``target/``), so the
    ``dbt build`` that follows for the same target reuses the parse (dbt's partial parsing).
    """
    done = subprocess.run(
        dbt_command(["parse"], project_dir, target, vars_text),
        cwd=project_dir,
        env={**os.environ, "DBT_PROFILES_DIR": str(profiles_dir)},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise TargetError(f"dbt parse failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return plan_from_manifest(read_manifest(target_path(project_dir) / "manifest.json"))


def target_path(project_dir: Path) -> Path:
    """Where dbt writes its artifacts for this project (``DBT_TARGET_PATH`` or ``target``)."""
    path = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    return path if path.is_absolute() else project_dir / path


def dbt_command(
    args: Sequence[str],
    project_dir: Path,
    target: str | None,
    vars_text: str | None,
    extra: Sequence[str] = (),
) -> list[str]:
    """``dbt <args>`` for the project and target, with the same Python's dbt."""
    command = [str(Path(sys.executable).with_name("dbt")), *args, "--project-dir", str(project_dir)]
    if target:
        command += ["--target", target]
    if vars_text:
        command += ["--vars", vars_text]
    return command + list(extra)

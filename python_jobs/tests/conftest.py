"""Shared test helpers: where the project and the shared real data are, and one way to run dbt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# The real UCI Online Retail log, beside the project (absent on a user's machine).
ONLINE_RETAIL_BY_DAY = REPO_ROOT.parent / "shared" / "data" / "online_retail" / "by-day"


def dbt_executable() -> Path:
    """The dbt of the running Python's environment (the project's venv)."""
    candidate = Path(sys.executable).with_name("dbt")
    if not candidate.exists():
        pytest.skip("dbt is not installed beside this Python")
    return candidate


def run_dbt(
    args: list[str], database: Path, work: Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `dbt <args>` on the project against the warehouse ``database``.

    Target and log folders go under ``work`` so tests never touch the project's own. With
    ``check`` a non-zero exit fails the test with the end of dbt's output.
    """
    env = {**os.environ, "DBT_PROFILES_DIR": str(REPO_ROOT), "SEGMENTS_DUCKDB_PATH": str(database)}
    command = [
        str(dbt_executable()),
        *args,
        "--project-dir",
        str(REPO_ROOT),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if check:
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return done


def require_online_retail() -> Path:
    """The real log's folder, or skip the test when it is absent."""
    if not ONLINE_RETAIL_BY_DAY.is_dir():
        pytest.skip(f"real data not found at {ONLINE_RETAIL_BY_DAY}")
    return ONLINE_RETAIL_BY_DAY

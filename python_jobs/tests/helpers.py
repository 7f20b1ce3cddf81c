"""What the tests share: where things are, running dbt and a job, reading a warehouse, and the
fast clustering settings.

Imported as ``helpers`` (pyproject puts this folder on the test path); fixtures live in the
conftest.py files beside the tests that use them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pandas as pd
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = REPO_ROOT / "python_jobs" / "examples"
# The dbt project's name, as in the manifest's unique ids (model.customer_segments.<name>).
PROJECT_NAME = "customer_segments"
# The real UCI Online Retail log, beside the project (absent on a user's machine).
ONLINE_RETAIL_BY_DAY = REPO_ROOT.parent / "shared" / "data" / "online_retail" / "by-day"
UCI_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"


def fast_segmentation(k_min: int = 3, k_max: int = 5) -> dict[str, Any]:
    """K-Means alone, k from ``k_min`` to ``k_max``: the clustering settings of tests that need
    a model, not a search."""
    return {"algorithms": ["kmeans"], "kmeans": {"k_min": k_min, "k_max": k_max, "n_init": 2}}


FAST_SEGMENTATION = fast_segmentation()
# Every numeric feature of the synthetic customers (segmentation.benchmark.synthetic): its
# planted groups also differ in features that only describe segments by default (cancellations,
# unit price, timing shares), so tests that check the engine recovers them give it all of these.
SYNTHETIC_FEATURES = [
    "recency_days",
    "frequency_orders",
    "monetary_amount",
    "avg_order_value",
    "avg_unit_price",
    "cancellation_rate",
    "tenure_days",
    "mean_days_between_orders",
    "weekend_order_share",
    "evening_order_share",
]
# The registry and monitoring models (and what they read), not the evaluation and personas
# that read them: the dbt selection of tests about the maintained model.
REGISTRY_SELECTION = [
    "--select",
    "+models/monitoring",
    "ml_model_registry",
    "ml_registry_transform_params",
    "ml_registry_representatives",
    "ml_registry_feature_bins",
    "ml_segment_lineage",
    "ml_model_candidates",
    "ml_algorithm_agreement",
    "--indirect-selection",
    "cautious",
    "--exclude-resource-type",
    "unit_test",
]


def fast_vars(k_min: int = 3, k_max: int = 5, **more: Any) -> dict[str, Any]:
    """dbt vars with the fast segmentation settings and ``more`` (for ``json.dumps``)."""
    return {"segmentation": fast_segmentation(k_min, k_max), **more}


# -- running dbt and the jobs ------------------------------------------------------------------


def venv_executable(name: str) -> Path:
    """A command installed beside the running Python (the project's venv): dbt, segmentation."""
    candidate = Path(sys.executable).with_name(name)
    if not candidate.exists():
        pytest.skip(f"{name} is not installed beside this Python")
    return candidate


def dbt_executable() -> Path:
    """The dbt of the running Python's environment."""
    return venv_executable("dbt")


def dbt_env(database: Path) -> dict[str, str]:
    """The environment of a dbt run on the project against the warehouse ``database``."""
    return {**os.environ, "DBT_PROFILES_DIR": str(REPO_ROOT), "SEGMENTS_DUCKDB_PATH": str(database)}


def run_dbt(
    args: list[str], database: Path, work: Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `dbt <args>` on the project against the warehouse ``database``.

    Target and log folders go under ``work`` so tests never touch the project's own. With
    ``check`` a non-zero exit fails the test with the end of dbt's output.
    """
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
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=dbt_env(database), capture_output=True, text=True
    )
    if check:
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return done


def dbt_vars(variables: dict[str, Any]) -> list[str]:
    """The `--vars` arguments of a dbt command."""
    return ["--vars", json.dumps(variables)]


def run_results(work: Path) -> dict[str, Any]:
    """The run_results.json of the last dbt command that used ``work``."""
    return json.loads((work / "target" / "run_results.json").read_text())


def node_statuses(work: Path) -> dict[str, str]:
    """Status of each node of the last dbt command that used ``work``, by node name."""
    return {
        result["unique_id"].split(".")[2]: result["status"]
        for result in run_results(work)["results"]
    }


def parse_job_args(job: ModuleType, argv: list[str]) -> argparse.Namespace:
    """The arguments of `segmentation <job> ARGV`, parsed by the job module's own parser."""
    parser = argparse.ArgumentParser()
    job.add_arguments(parser)
    return parser.parse_args(argv)


# -- reading a warehouse ---------------------------------------------------------------------


def query(database: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    """The rows of a query on the DuckDB file ``database``, opened read-only and closed."""
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def query_frame(database: Path, sql: str) -> pd.DataFrame:
    """A query's result as pandas, from the DuckDB file ``database`` opened read-only."""
    with duckdb.connect(str(database), read_only=True) as con:
        return con.sql(sql).df()


def scalar(source: Path | duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None):
    """The single value a query returns, on an open connection or a DuckDB file."""
    if isinstance(source, Path):
        return query(source, sql, params)[0][0]
    return source.execute(sql, params or []).fetchall()[0][0]


# -- input files -----------------------------------------------------------------------------


def write_lines(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    """A text file of ``lines`` (each ended by a newline), its folder made when missing."""
    return write_bytes(path, ("\n".join(lines) + "\n").encode(encoding))


def write_bytes(path: Path, content: str | bytes) -> Path:
    """A file holding exactly ``content`` (text as UTF-8), its folder made when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


# -- the real data ---------------------------------------------------------------------------


def online_retail_present() -> bool:
    """Whether the real log is beside the project."""
    return ONLINE_RETAIL_BY_DAY.is_dir()


def require_online_retail() -> Path:
    """The real log's folder, or skip the test when it is absent."""
    if not online_retail_present():
        pytest.skip(f"real data not found at {ONLINE_RETAIL_BY_DAY}")
    return ONLINE_RETAIL_BY_DAY

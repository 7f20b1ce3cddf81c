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
    "ml_model_migration",
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


# -- what a segmentation a marketer can act on looks like ------------------------------------


def _direction(lower: float | None, upper: float | None, median: float | None) -> str | None:
    """high for a rule condition that asks for at least the population's median, low for one
    that asks for at most it (a condition such as "revenue > 398" below the median only rules
    out the smallest values and says nothing about high or low)."""
    if median is None:
        return None
    if lower is not None and upper is None and lower >= median:
        return "high"
    if upper is not None and lower is None and upper <= median:
        return "low"
    return None


def _claim_direction(statistic: str, comparison: str) -> str:
    above = comparison in (">", ">=")
    if statistic == "segment_rank":  # rank 1 is the highest mean
        above = not above
    return "high" if above else "low"


def actionable_segment_problems(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What keeps the built segmentation from being actionable (empty: nothing): 4 to 8
    segments, every segment's bootstrap Jaccard >= 0.75 and their mean >= 0.85, each segment
    explained by at most three conditions on defining features, unique persona names whose
    claims use defining features only (the engagement and attribute figures a persona cites
    about the optional inputs describe, by design), and persona rules that do not contradict
    the segment's readable rule (a persona "high X" where the rule says X at most the median,
    or the reverse).
    """
    problems = []
    segments, weakest, mean = con.execute(
        "select n_segments, min_segment_stability, mean_bootstrap_stability"
        " from ml.ml_segment_evaluation"
    ).fetchall()[0]
    if not 4 <= segments <= 8:
        problems.append(f"{segments} segments, not 4 to 8")
    if weakest < 0.75 or mean < 0.85:
        problems.append(f"stability weakest {weakest:.3f} (>= 0.75), mean {mean:.3f} (>= 0.85)")
    defining = {
        row[0]
        for row in con.execute(
            "select feature_name from ml.ml_feature_roles where feature_role = 'defining'"
        ).fetchall()
    }
    medians = dict(
        con.execute(
            "select distinct feature_name, population_median from ml.ml_segment_profiles"
        ).fetchall()
    )
    directions: dict[tuple[int, str], str] = {}
    for segment_id, count, conditions in con.execute(
        "select segment_id, condition_count, conditions_json from ml.ml_segment_explanation_rules"
    ).fetchall():
        parsed = json.loads(conditions)
        if count > 3 or {c["feature_name"] for c in parsed} - defining:
            problems.append(f"segment {segment_id}: rule of {count} conditions {parsed}")
        for condition in parsed:
            median = medians.get(condition["feature_name"])
            direction = _direction(condition["lower"], condition["upper"], median)
            if direction:
                directions[(segment_id, condition["feature_name"])] = direction
    names = [
        row[0] for row in con.execute("select persona_name from ml.ml_segment_personas").fetchall()
    ]
    if len(set(names)) != len(names) or len(names) != segments:
        problems.append(f"persona names {names}")
    for segment_id, source, feature, statistic, comparison in con.execute(
        "select segment_id, claim_source, feature_name, statistic, comparison"
        " from ml.ml_segment_persona_claims"
    ).fetchall():
        if feature not in defining and source not in ("engagement", "attribute"):
            problems.append(f"segment {segment_id}: a persona claim on {feature} (describing)")
        rule = directions.get((segment_id, feature))
        if source == "rule" and rule and rule != _claim_direction(statistic, comparison):
            problems.append(
                f"segment {segment_id}: persona says {feature} {statistic} {comparison}, "
                f"its rule says {rule}"
            )
    return problems

"""The real pipeline, as ``make run`` runs it, measured stage by stage.

A run is three child processes, one after another: ``segmentation load`` of the log, one
``dbt build`` of the whole project as ``make run`` and ``make daily`` build it (every model and
seed, the tests that read one model alone inside that model, every other test as its own node,
dbt's two threads interleaving them as they do for a user; see ``dbt_steps.py``) and
``segmentation publish``. End to end is their wall time added up, and its peak the largest of
their OS-measured peaks. Before the clock starts, dbt parses the project into the run's target
folder (``parse_project``): a scheduled build finds its last parse there and parses only what
changed, so no measured build pays dbt's full parse.

Within the build, dbt's record of when each node started and ended gives the stages:

- **SQL models**: SQL models, seeds and hooks, plus dbt's start-up (and partial parse) before
  the first node;
- **Python models**: the dbt Python models;
- **tests**: data tests and unit tests.

A stage's time is the wall time during which at least one of its nodes was running (intervals
merged), and its peak the largest resident set sampled meanwhile. Stages overlap (a test runs
beside a model on dbt's other thread), so the stage times of the build add up to at least the
build's wall time. The **feature SQL** figure is the feature chain (``fct_customer_features``
and every model it is built from) rebuilt on its own after the run, from its first model's
start to its last model's end, the way the same-work floor query it is compared with runs
(``floor.py``): inside the build its models share the cores with tests and other models. The
rebuild is a full refresh: the chain's incremental models would otherwise find nothing to do,
and the floor computes every customer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segmentation.benchmark.data import LOG_COLUMNS
from segmentation.benchmark.inputs import InputFiles
from segmentation.benchmark.measure import Measurement, StepFailed, combine, run_measured
from segmentation.io.dbt_commands import PRODUCTION_BUILD_ARGS

FEATURE_MART = "fct_customer_features"
# The stages of one pipeline run, in the order they run and are reported.
STAGES = ("load", "sql_models", "python_models", "tests", "publish")
# the stages inside the one `dbt build`
BUILD_STAGES = ("sql_models", "python_models", "tests")
DRIVER_MODULE = "segmentation.benchmark.dbt_steps"


class PlanError(RuntimeError):
    """The dbt project could not be listed (the message holds dbt's output)."""


@dataclass(frozen=True)
class Model:
    """One dbt model as ``dbt ls`` lists it."""

    unique_id: str
    name: str
    language: str
    parents: tuple[str, ...]


@dataclass(frozen=True)
class Runner:
    """How to run dbt and the jobs against one benchmark warehouse."""

    repo_root: Path
    database: Path
    work: Path
    dbt_vars: str | None = None
    bin_dir: Path = field(default_factory=lambda: Path(sys.executable).parent)

    @property
    def serving(self) -> Path:
        return self.database.with_name(self.database.stem + "-serving.duckdb")

    @property
    def target_path(self) -> Path:
        return self.work / "target"

    @property
    def log_dir(self) -> Path:
        return self.work / "logs"

    @property
    def step_log(self) -> Path:
        return self.work / "steps.log"

    def env(self) -> dict[str, str]:
        """The environment of every step: this warehouse, the project's profile."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("DBT_")}
        env.update(
            DBT_PROFILES_DIR=str(self.repo_root),
            SEGMENTS_DUCKDB_PATH=str(self.database),
            SEGMENTS_SERVING_PATH=str(self.serving),
        )
        return env

    def dbt(self, *args: str) -> list[str]:
        """A dbt command line against the project, with its own target and log folders."""
        return [str(self.bin_dir / "dbt"), *self.dbt_args(*args)]

    def dbt_args(self, *args: str) -> list[str]:
        """dbt arguments (without the executable) against the project and these folders."""
        command = [
            *args,
            "--project-dir",
            str(self.repo_root),
            "--target-path",
            str(self.target_path),
            "--log-path",
            str(self.log_dir),
        ]
        if self.dbt_vars:
            command += ["--vars", self.dbt_vars]
        return command

    def job(self, *args: str) -> list[str]:
        """A ``segmentation <job>`` command line run by this Python."""
        return [sys.executable, "-m", "segmentation.cli", *args]

    def measure(self, label: str, command: Sequence[str]) -> Measurement:
        return run_measured(
            label, command, env=self.env(), cwd=self.repo_root, log_path=self.step_log
        )


def list_models(runner: Runner) -> list[Model]:
    """Every enabled model of the project with its language and model parents (``dbt ls``)."""
    command = runner.dbt(
        "ls",
        "--resource-type",
        "model",
        "--output",
        "json",
        "--output-keys",
        "unique_id name language depends_on",
        "--quiet",
    )
    done = subprocess.run(
        command, env=runner.env(), cwd=runner.repo_root, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise PlanError(f"dbt ls failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    models = []
    for line in done.stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        node = json.loads(line)
        parents = tuple(
            p for p in node.get("depends_on", {}).get("nodes", []) if p.startswith("model.")
        )
        models.append(Model(node["unique_id"], node["name"], node.get("language", "sql"), parents))
    if not models:
        raise PlanError(f"dbt ls listed no models:\n{done.stdout[-3000:]}")
    return models


def feature_models(models: Iterable[Model], feature_mart: str = FEATURE_MART) -> frozenset[str]:
    """Names of ``feature_mart`` and every model it is built from."""
    by_id = {m.unique_id: m for m in models}
    return frozenset(_ancestors_and_self(by_id, feature_mart))


def _ancestors_and_self(by_id: dict[str, Model], name: str) -> set[str]:
    start = [u for u, m in by_id.items() if m.name == name]
    seen: set[str] = set()
    while start:
        unique_id = start.pop()
        if unique_id in seen or unique_id not in by_id:
            continue
        seen.add(unique_id)
        start.extend(by_id[unique_id].parents)
    return {by_id[u].name for u in seen}


@dataclass
class PipelineRun:
    """Measurements of one pipeline run, per stage, plus dbt's own timings per node."""

    stages: dict[str, Measurement]
    # the feature chain: rebuilt alone in full after a full run (feature_stage_seconds); within
    # the build itself on a daily run (chain_seconds)
    feature_sql_seconds: float
    node_seconds: dict[str, float]
    end_to_end: Measurement


def load_command(runner: Runner, log_file: Path) -> list[str]:
    """``segmentation load`` of a benchmark log (its columns are the contract's names)."""
    columns = [arg for name in LOG_COLUMNS for arg in ("--column", f"{name}={name}")]
    return runner.job(
        "load",
        str(log_file),
        "--format",
        "parquet",
        *columns,
        "--database",
        str(runner.database),
        "--no-progress",
    )


def input_load_commands(runner: Runner, inputs: InputFiles) -> list[tuple[str, list[str]]]:
    """``segmentation load --source`` of the optional inputs, each through its mapping."""
    return [
        (
            f"load {source}",
            runner.job(
                "load",
                str(path),
                "--source",
                source,
                "--mapping",
                str(mapping),
                "--database",
                str(runner.database),
                "--no-progress",
            ),
        )
        for source, path, mapping in (
            ("customers", inputs.customers, inputs.customers_mapping),
            ("engagement", inputs.engagement, inputs.engagement_mapping),
        )
    ]


def node_stage(node: dict[str, Any]) -> str:
    """The stage a node of the build belongs to (see the module docstring)."""
    if node["resource_type"] in ("test", "unit_test"):
        return "tests"
    if node["resource_type"] == "model" and node["language"] == "python":
        return "python_models"
    return "sql_models"


def merged_seconds(intervals: Iterable[tuple[float, float]]) -> float:
    """Length of the union of ``(start, end)`` intervals."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def build_stages(
    nodes: Sequence[dict[str, Any]], samples: Sequence[tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """Stage -> (busy seconds, peak MiB sampled while busy) of one build (module docstring)."""
    intervals: dict[str, list[tuple[float, float]]] = {s: [] for s in BUILD_STAGES}
    timed = [n for n in nodes if n["started"] is not None and n["ended"] is not None]
    first_start = min((n["started"] for n in timed), default=0.0)
    intervals["sql_models"].append((0.0, max(first_start, 0.0)))  # start-up and parse
    for node in timed:
        intervals[node_stage(node)].append((node["started"], node["ended"]))
    figures = {}
    for stage, spans in intervals.items():
        peak = max(
            (rss for moment, rss in samples if any(a <= moment <= b for a, b in spans)),
            default=0.0,
        )
        figures[stage] = (merged_seconds(spans), peak)
    return figures


def _drive(runner: Runner, label: str, args: Sequence[str]) -> tuple[Measurement, dict[str, Any]]:
    """One dbt invocation through the measuring driver (``dbt_steps.py``)."""
    stem = label.replace(" ", "_")
    args_file = runner.work / f"{stem}_args.json"
    result_file = runner.work / f"{stem}_result.json"
    args_file.write_text(json.dumps(list(args)))
    result_file.unlink(missing_ok=True)
    measured = run_measured(
        label,
        [sys.executable, "-m", DRIVER_MODULE, str(args_file), str(result_file)],
        env=runner.env(),
        cwd=runner.repo_root,
        log_path=runner.step_log,
        check=False,
    )
    done = json.loads(result_file.read_text()) if result_file.exists() else None
    if not measured.ok or done is None or not done["success"]:
        raise StepFailed(
            f"{label} failed (exit code {measured.returncode}); see {runner.log_dir} and "
            f"{runner.step_log}"
        )
    return measured, done


def chain_seconds(nodes: Sequence[dict[str, Any]], feature_names: frozenset[str]) -> float:
    """Seconds during which a model of the feature chain ran, among the nodes of one dbt run."""
    spans = [
        (n["started"], n["ended"])
        for n in nodes
        if n["resource_type"] == "model"
        and n["unique_id"].split(".")[-1] in feature_names
        and n["started"] is not None
        and n["ended"] is not None
    ]
    return merged_seconds(spans)


def parse_project(runner: Runner) -> None:
    """``dbt parse`` into the runner's target folder, not measured (see the module doc)."""
    done = subprocess.run(
        runner.dbt("parse"),
        env=runner.env(),
        cwd=runner.repo_root,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise StepFailed(f"dbt parse failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")


def feature_stage_seconds(runner: Runner, feature_names: frozenset[str]) -> float:
    """Wall time of the feature chain rebuilt on its own and in full (``dbt run
    --full-refresh``, models only, nothing else running), from its first model's start to its
    last model's end: the figure compared with the same-work floor query, which also runs alone
    and computes every customer."""
    _, done = _drive(
        runner,
        "feature stage",
        runner.dbt_args("run", "--full-refresh", "--select", f"+{FEATURE_MART}"),
    )
    return chain_seconds(done["nodes"], feature_names)


def run_pipeline(
    runner: Runner,
    feature_names: frozenset[str],
    log_file: Path,
    daily: bool = False,
    inputs: InputFiles | None = None,
) -> PipelineRun:
    """Load ``log_file`` (and the optional ``inputs``, each loaded after it, all counted in the
    load stage) into the runner's warehouse, build it with one ``dbt build`` and publish it,
    measuring every stage. The feature chain is timed on its own, rebuilt in full, after a full
    run; a daily run times it within the build, where it is incremental."""
    parse_project(runner)
    load = runner.measure("load", load_command(runner, log_file))
    if inputs is not None:
        steps = [runner.measure(label, cmd) for label, cmd in input_load_commands(runner, inputs)]
        load = combine("load", [load, *steps])
    build, done = _drive(runner, "dbt build", runner.dbt_args("build", *PRODUCTION_BUILD_ARGS))
    publish = runner.measure(
        "publish",
        runner.job(
            "publish",
            "--database",
            str(runner.database),
            "--serving",
            str(runner.serving),
            "--target-path",
            str(runner.target_path),
            "--log-path",
            str(runner.log_dir),
        ),
    )
    stages = {"load": load, "publish": publish}
    for stage, (seconds, peak) in build_stages(done["nodes"], done["samples"]).items():
        stages[stage] = Measurement(stage, seconds, peak, 0)
    node_seconds = {n["unique_id"]: n["execution_time"] for n in done["nodes"]}
    feature_sql_seconds = (
        chain_seconds(done["nodes"], feature_names)
        if daily
        else feature_stage_seconds(runner, feature_names)
    )
    end_to_end = combine("end_to_end", [load, build, publish])
    return PipelineRun(stages, feature_sql_seconds, node_seconds, end_to_end)

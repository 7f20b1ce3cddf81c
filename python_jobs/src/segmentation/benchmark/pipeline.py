"""The real pipeline, run stage by stage so that each stage can be measured on its own.

``make run`` is: load the log, ``dbt build``, publish. Here the build is cut into dbt
invocations along the project's own graph, so that wall time and peak memory can be given per
stage (load and publish are child processes; the dbt invocations run one after another in one
child process, see ``dbt_steps.py``, so dbt starts and parses the project once, as in one
``dbt build``):

- **load**: ``segmentation load`` of the log file into the warehouse;
- **features**: ``dbt build`` of ``+fct_customer_features`` (staging, intermediate and the
  feature mart) and every seed, without tests: the SQL feature stage;
- **SQL models** / **Python models**: the remaining models in phases of one language each,
  in graph order (SQL models below the Python ones, the Python models, the SQL marts built
  on them, and so on), every phase one ``dbt build`` without tests; the features stage is
  counted with the SQL models;
- **tests**: ``dbt test`` of the unit tests, then one ``dbt build`` of every data test;
- **publish**: ``segmentation publish`` to a serving copy beside the warehouse.

dbt's start-up and parse are counted with the SQL models. Tests run after all models rather
than right after each one (``dbt build`` interleaves them, over two threads); the work is the
same.
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
from segmentation.benchmark.measure import Measurement, StepFailed, combine, run_measured

FEATURE_MART = "fct_customer_features"
# The stages of one pipeline run, in the order they run and are reported.
STAGES = ("load", "sql_models", "python_models", "tests", "publish")
DRIVER_MODULE = "segmentation.benchmark.dbt_steps"
NO_TESTS = ("--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")


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
class Phase:
    """Models of one language that can be built together once the earlier phases are built."""

    language: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class BuildPlan:
    """The dbt invocations of a build: the feature chain, then phases of one language each."""

    feature_models: frozenset[str]
    phases: tuple[Phase, ...]


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


def plan_build(models: Iterable[Model], feature_mart: str = FEATURE_MART) -> BuildPlan:
    """Cut the models into the feature chain and phases of one language each.

    A model's phase is the earliest one after all its parents' phases whose language is its
    own (even phases SQL, odd phases Python), so running the phases in order respects the
    graph. Models of the feature chain (``feature_mart`` and its ancestors) are left out of
    the phases; they are built first.
    """
    by_id = {m.unique_id: m for m in models}
    phase_of: dict[str, int] = {}

    def phase(unique_id: str, trail: tuple[str, ...] = ()) -> int:
        if unique_id in phase_of:
            return phase_of[unique_id]
        if unique_id in trail:
            raise PlanError(f"dependency cycle through {unique_id}")
        model = by_id[unique_id]
        start = max((phase(p, (*trail, unique_id)) for p in model.parents if p in by_id), default=0)
        parity = 1 if model.language == "python" else 0
        phase_of[unique_id] = start if start % 2 == parity else start + 1
        return phase_of[unique_id]

    for unique_id in by_id:
        phase(unique_id)
    features = _ancestors_and_self(by_id, feature_mart)
    phases = []
    for number in range(max(phase_of.values(), default=-1) + 1):
        names = sorted(
            by_id[u].name
            for u, p in phase_of.items()
            if p == number and by_id[u].name not in features
        )
        if names:
            phases.append(Phase("python" if number % 2 else "sql", tuple(names)))
    return BuildPlan(frozenset(features), tuple(phases))


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
    feature_sql_seconds: float
    node_seconds: dict[str, float]
    driver_peak_mib: float = 0.0

    @property
    def end_to_end(self) -> Measurement:
        """Every stage one after another; the peak also covers dbt's start-up and parse."""
        total = combine("end_to_end", [self.stages[s] for s in STAGES if s in self.stages])
        peak = max(total.peak_rss_mib, self.driver_peak_mib)
        return Measurement("end_to_end", total.seconds, peak, total.returncode)


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


def build_steps(runner: Runner, plan: BuildPlan) -> list[dict[str, Any]]:
    """The dbt invocations of one build, in order: features, phases, tests."""
    steps = [
        {
            "label": "features",
            "stage": "sql_models",
            "args": runner.dbt_args(
                "build", *NO_TESTS, "--select", f"+{FEATURE_MART}", "resource_type:seed"
            ),
        }
    ]
    for number, phase in enumerate(plan.phases, start=1):
        steps.append(
            {
                "label": f"{phase.language} phase {number}",
                "stage": f"{phase.language}_models",
                "args": runner.dbt_args("build", *NO_TESTS, "--select", *phase.names),
            }
        )
    # `dbt build` runs a unit test only with its model, so unit tests go through `dbt test`;
    # the data tests run last as a `build`, the command `segmentation publish` checks
    steps.append(
        {
            "label": "unit tests",
            "stage": "tests",
            "args": runner.dbt_args("test", "--select", "test_type:unit"),
        }
    )
    steps.append(
        {
            "label": "data tests",
            "stage": "tests",
            "args": runner.dbt_args("build", "--select", "resource_type:test"),
        }
    )
    return steps


def run_pipeline(runner: Runner, plan: BuildPlan, log_file: Path) -> PipelineRun:
    """Load ``log_file`` into the runner's warehouse and build, test and publish it."""
    stages: dict[str, Measurement] = {}
    stages["load"] = runner.measure("load", load_command(runner, log_file))

    steps = build_steps(runner, plan)
    steps_file = runner.work / "dbt_steps.json"
    result_file = runner.work / "dbt_steps_result.json"
    steps_file.write_text(json.dumps(steps, indent=2))
    result_file.unlink(missing_ok=True)
    driver = run_measured(
        "dbt build",
        [sys.executable, "-m", DRIVER_MODULE, str(steps_file), str(result_file)],
        env=runner.env(),
        cwd=runner.repo_root,
        log_path=runner.step_log,
        check=False,
    )
    done = json.loads(result_file.read_text()) if result_file.exists() else []
    if not driver.ok or len(done) != len(steps) or not all(d["success"] for d in done):
        failed = next((d["label"] for d in done if not d["success"]), "start-up")
        raise StepFailed(
            f"dbt step '{failed}' failed (exit code {driver.returncode}); see {runner.log_dir} "
            f"and {runner.step_log}"
        )
    # dbt's import and the project parse happen once, before the first (SQL) step
    start_up = max(driver.seconds - sum(d["seconds"] for d in done), 0.0)
    node_seconds: dict[str, float] = {}
    for stage in ("sql_models", "python_models", "tests"):
        parts = [
            Measurement(d["label"], d["seconds"], d["peak_rss_mib"], 0)
            for d in done
            if d["stage"] == stage
        ]
        if stage == "sql_models":
            parts.append(Measurement("dbt start-up", start_up, 0.0, 0))
        stages[stage] = combine(stage, parts)
    for d in done:
        node_seconds.update(d["node_seconds"])
    feature_sql_seconds = sum(
        seconds
        for unique_id, seconds in done[0]["node_seconds"].items()
        if unique_id.startswith("model.") and unique_id.split(".")[-1] in plan.feature_models
    )
    stages["publish"] = runner.measure(
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
    # the driver's own peak (wait4) also covers dbt's start-up and parse
    return PipelineRun(stages, feature_sql_seconds, node_seconds, driver.peak_rss_mib)


def _node_seconds(target_path: Path) -> dict[str, float]:
    """dbt's execution time of every node of the last invocation (``run_results.json``)."""
    path = target_path / "run_results.json"
    if not path.exists():
        return {}
    results = json.loads(path.read_text()).get("results", [])
    return {r["unique_id"]: float(r.get("execution_time") or 0.0) for r in results}

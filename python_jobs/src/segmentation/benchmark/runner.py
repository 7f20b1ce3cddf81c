"""The whole benchmark: for each size, the log, a fresh warehouse, the pipeline, the references
(the same-work floor first checked equal to the feature mart, then timed; the notebook) and
(optionally) the daily build after it; the table is rewritten after every row, so an
interrupted run keeps what it measured."""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segmentation.benchmark import report
from segmentation.benchmark.data import BenchSize, LogFile, ensure_log, write_next_day
from segmentation.benchmark.floor import FEATURE_MART, FloorMismatch, FloorSettings
from segmentation.benchmark.inputs import InputFiles, ensure_inputs
from segmentation.benchmark.measure import Measurement, run_measured
from segmentation.benchmark.pipeline import (
    PipelineRun,
    Runner,
    feature_models,
    list_models,
    run_pipeline,
)
from segmentation.benchmark.report import DAILY, FULL, FULL_WITH_INPUTS, BenchRow
from segmentation.config.segmentation import SegmentationSettings

CSV_NAME = "bench_results.csv"
MARKDOWN_NAME = "bench_results.md"


@dataclass(frozen=True)
class BenchOptions:
    """What ``segmentation bench`` was asked to do."""

    sizes: Sequence[BenchSize]
    work_dir: Path
    output_dir: Path
    repo_root: Path
    seed: int = 42
    dbt_vars: str | None = None
    daily: bool = True
    references: bool = True
    keep_warehouses: bool = False
    notes: Sequence[str] = field(default_factory=tuple)
    # names of the sizes also built with the demo's optional inputs (a full + inputs row)
    inputs: frozenset[str] = frozenset()


@dataclass
class BenchResult:
    """The rows measured and where the table was written."""

    rows: list[BenchRow]
    csv_path: Path
    markdown_path: Path


def run_benchmark(options: BenchOptions, say: Callable[[str], None] = print) -> BenchResult:
    """Measure every size in ``options`` and write the table (CSV and Markdown)."""
    rows: list[BenchRow] = []
    csv_path = options.output_dir / CSV_NAME
    markdown_path = options.output_dir / MARKDOWN_NAME
    machine = report.machine_description()
    settings = _settings(options.dbt_vars)
    if options.references:
        # the floor's vars, checked before anything is built (it refuses vars it cannot follow)
        FloorSettings.from_project(options.repo_root, options.dbt_vars)
    features: frozenset[str] | None = None
    for size in options.sizes:
        size_dir = options.work_dir / f"run-{size.name}"
        if size_dir.exists():
            shutil.rmtree(size_dir)
        size_dir.mkdir(parents=True)
        runner = Runner(
            repo_root=options.repo_root,
            database=size_dir / "warehouse.duckdb",
            work=size_dir,
            dbt_vars=options.dbt_vars,
        )
        if features is None:
            features = feature_models(list_models(runner))
            say(f"bench: the feature SQL stage is {', '.join(sorted(features))}")
        say(
            f"bench: size {size.name}: preparing the log ({size.customers:,} customers, "
            f"{size.months} months)"
        )
        log = ensure_log(options.work_dir / "data", size, options.seed)
        say(
            f"bench: size {size.name}: {log.lines:,} lines, {log.customers:,} customers "
            f"({log.path.name}); building (load average {_load_average():.1f})"
        )
        load_average = _load_average()
        full = run_pipeline(runner, features, log.path)
        row = _row(size, FULL, log, log.lines, load_average, full)
        say(_stage_line(row))
        if options.references:
            _measure_references(row, runner, log, settings, size_dir)
            say(
                f"bench: size {size.name}: the same-work floor equals {FEATURE_MART} "
                f"({row.floor_checked_customers:,} customers); feature chain / floor query "
                f"{row.feature_sql_vs_floor:.2f}, end to end / (floor + K-Means) "
                f"{row.vs_floor:.2f}; notebook {row.notebook_s:.1f} s (does less work)"
            )
        rows.append(row)
        _write(rows, csv_path, markdown_path, machine, options.notes)
        _write_node_timings(size_dir / "node_seconds_full.json", full)
        if options.daily:
            next_day_path = options.work_dir / "data" / f"next-day-{size.name}.parquet"
            next_day = write_next_day(log, next_day_path)
            load_average = _load_average()
            daily = run_pipeline(runner, features, next_day.path, daily=True)
            daily_row = _row(
                size, DAILY, log, log.lines + next_day.lines, load_average, daily, next_day.lines
            )
            say(_stage_line(daily_row))
            rows.append(daily_row)
            _write(rows, csv_path, markdown_path, machine, options.notes)
            _write_node_timings(size_dir / "node_seconds_daily.json", daily)
        if not options.keep_warehouses:
            _remove_warehouse(runner)
        if size.name in options.inputs:
            rows.append(_inputs_row(options, size, log, features, size_dir, say))
            _write(rows, csv_path, markdown_path, machine, options.notes)
    return BenchResult(rows, csv_path, markdown_path)


def _remove_warehouse(runner: Runner) -> None:
    for path in (runner.database, runner.serving):
        path.unlink(missing_ok=True)
        Path(f"{path}.wal").unlink(missing_ok=True)


def _inputs_row(
    options: BenchOptions,
    size: BenchSize,
    log: LogFile,
    features: frozenset[str],
    size_dir: Path,
    say: Callable[[str], None],
) -> BenchRow:
    """The full build of ``log`` with the demo's optional inputs, in a warehouse of its own."""
    inputs = ensure_inputs(log, size, options.seed)
    work = size_dir / "inputs"
    work.mkdir()
    runner = Runner(
        repo_root=options.repo_root,
        database=work / "warehouse.duckdb",
        work=work,
        dbt_vars=options.dbt_vars,
    )
    load_average = _load_average()
    say(
        f"bench: size {size.name}: building with the optional inputs ({inputs.events:,} "
        f"engagement events, {inputs.attribute_values:,} attribute values of "
        f"{inputs.attribute_customers:,} customers; load average {load_average:.1f})"
    )
    run = run_pipeline(runner, features, log.path, inputs=inputs)
    row = _row(size, FULL_WITH_INPUTS, log, log.lines, load_average, run)
    say(_stage_line(row))
    say(_loaded_inputs_line(runner, size, inputs))
    _write_node_timings(size_dir / "node_seconds_inputs.json", run)
    if not options.keep_warehouses:
        _remove_warehouse(runner)
    return row


def _loaded_inputs_line(runner: Runner, size: BenchSize, inputs: InputFiles) -> str:
    """What the inputs' build holds of them: rows loaded and customers described."""
    import duckdb

    with duckdb.connect(str(runner.database), read_only=True) as con:
        events = con.execute("select count(*) from raw.engagement_events").fetchone()[0]
        values = con.execute("select count(*) from raw.customer_attributes").fetchone()[0]
        engaged = con.execute(
            "select count(*) from marts.fct_customer_engagement where has_engagement_events"
        ).fetchone()[0]
    return (
        f"bench: size {size.name} full + inputs: loaded {events:,} of {inputs.events:,} "
        f"engagement events and {values:,} of {inputs.attribute_values:,} attribute values; "
        f"{engaged:,} customers of fct_customer_engagement have events"
    )


def _settings(dbt_vars: str | None) -> SegmentationSettings:
    """The segmentation settings the build uses (the notebook copies its K-Means effort)."""
    if not dbt_vars:
        return SegmentationSettings.from_mapping(None)
    import yaml

    parsed = yaml.safe_load(dbt_vars) or {}
    return SegmentationSettings.from_mapping(parsed.get("segmentation"))


def _load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return math.nan


def _row(
    size: BenchSize,
    build: str,
    log: LogFile,
    lines: int,
    load_average: float,
    run: PipelineRun,
    new_lines: int | None = None,
) -> BenchRow:
    stages = run.stages
    total = run.end_to_end
    return BenchRow(
        size=size.name,
        build=build,
        lines=lines,
        new_lines=log.lines if new_lines is None else new_lines,
        customers=log.customers,
        load_average=load_average,
        load_s=stages["load"].seconds,
        load_peak_mib=stages["load"].peak_rss_mib,
        sql_models_s=stages["sql_models"].seconds,
        sql_models_peak_mib=stages["sql_models"].peak_rss_mib,
        python_models_s=stages["python_models"].seconds,
        python_models_peak_mib=stages["python_models"].peak_rss_mib,
        tests_s=stages["tests"].seconds,
        tests_peak_mib=stages["tests"].peak_rss_mib,
        publish_s=stages["publish"].seconds,
        publish_peak_mib=stages["publish"].peak_rss_mib,
        end_to_end_s=total.seconds,
        end_to_end_peak_mib=total.peak_rss_mib,
        feature_sql_s=run.feature_sql_seconds,
    )


def _measure_references(
    row: BenchRow, runner: Runner, log: LogFile, settings: SegmentationSettings, folder: Path
) -> None:
    """Floor query (and its check against the mart), floor and notebook, each in its own
    measured process. No figure of the floor is kept unless its rows equal the mart's:
    :class:`FloorMismatch` names the columns and customers that differ."""
    module = [sys.executable, "-m", "segmentation.benchmark.references"]
    project = ["--project-dir", str(runner.repo_root)]
    if runner.dbt_vars:
        project += ["--vars", runner.dbt_vars]

    def measured(which: str, *args: str) -> tuple[Measurement, dict[str, Any]]:
        out = folder / f"{which}.json"
        measurement = run_measured(
            which,
            [*module, which, *args, "--json-out", str(out)],
            env=runner.env(),
            cwd=runner.repo_root,
            log_path=runner.step_log,
        )
        return measurement, json.loads(out.read_text())

    _, query = measured("floor-query", "--database", str(runner.database), *project)
    if query["mismatch"]:
        raise FloorMismatch(f"size {row.size}: {query['mismatch']}")
    row.floor_query_s = float(query["query_seconds"])
    row.floor_checked_customers = int(query["customers"])
    floor, _ = measured("floor", "--log", str(log.path), *project)
    row.floor_s, row.floor_peak_mib = floor.seconds, floor.peak_rss_mib
    notebook, _ = measured(
        "notebook",
        "--log",
        str(log.path),
        "--n-init",
        str(settings.kmeans.n_init),
        "--silhouette-sample-size",
        str(settings.selection.silhouette_sample_size),
    )
    row.notebook_s, row.notebook_peak_mib = notebook.seconds, notebook.peak_rss_mib


def _stage_line(row: BenchRow) -> str:
    parts = ", ".join(
        f"{name} {getattr(row, name + '_s'):.1f} s"
        for name in ("load", "sql_models", "python_models", "tests", "publish")
    )
    return (
        f"bench: size {row.size} {row.build}: {parts}; end to end {row.end_to_end_s:.1f} s, "
        f"peak {row.end_to_end_peak_mib:.0f} MiB (feature SQL {row.feature_sql_s:.1f} s)"
    )


def _write(
    rows: list[BenchRow], csv_path: Path, markdown_path: Path, machine: str, notes: Sequence[str]
) -> None:
    report.write_csv(rows, csv_path)
    markdown_path.write_text(report.markdown(rows, machine, notes), encoding="utf-8")


def _write_node_timings(path: Path, run: PipelineRun) -> None:
    """dbt's time per node, slowest first: where the time goes."""
    ordered = dict(sorted(run.node_seconds.items(), key=lambda item: -item[1]))
    path.write_text(json.dumps(ordered, indent=2))

"""`segmentation bench` end to end: one smoke run of the whole pipeline, measured.

The speed targets are not tested (they depend on the machine); this checks that the command
works, that every stage of the run is measured, that the same-work floor was checked against
the feature mart and that the table has every column.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT, fast_vars

from segmentation.benchmark import report

pytestmark = pytest.mark.dbt


def test_bench_command_measures_every_stage_on_a_small_log(tmp_path):
    work = tmp_path / "bench"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "segmentation.cli",
            "bench",
            "--sizes",
            "smoke",
            "--no-daily",
            "--inputs",
            "smoke",
            "--work-dir",
            str(work),
            "--vars",
            # the plumbing, not the model search; on this log k 2..4 passes every quality gate
            json.dumps(fast_vars(k_min=2, k_max=4)),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    with (work / "bench_results.csv").open() as handle:
        records = list(csv.DictReader(handle))
    assert [r["build"] for r in records] == [report.FULL, report.FULL_WITH_INPUTS]
    record, with_inputs = records
    assert list(record) == report.columns()
    assert all(record[column] != "" for column in report.columns()), record
    assert int(record["lines"]) > 100_000 and int(record["customers"]) == 1200
    for stage in ("load", "sql_models", "python_models", "tests", "publish"):
        assert float(record[f"{stage}_s"]) > 0, stage
        assert float(record[f"{stage}_peak_mib"]) > 50, stage
    # end to end is load + one dbt build + publish; the build's stages overlap (dbt runs two
    # nodes at a time), so together they cover at least the build
    serial = float(record["load_s"]) + float(record["publish_s"])
    build = float(record["end_to_end_s"]) - serial
    inside = sum(float(record[f"{s}_s"]) for s in ("sql_models", "python_models", "tests"))
    assert build > 0 and inside >= build * 0.8
    assert max(float(record[f"{s}_s"]) for s in ("sql_models", "python_models", "tests")) < build
    assert float(record["vs_notebook"]) == pytest.approx(
        float(record["end_to_end_s"]) / float(record["notebook_s"]), rel=1e-3
    )
    markdown = (work / "bench_results.md").read_text()
    assert "| smoke | full |" in markdown and "end to end / (floor + K-Means)" in markdown
    assert "end to end / notebook" in markdown and "does less work" in markdown
    # the floor's rows were checked equal to the mart's before its ratios were written
    assert "the same-work floor equals marts.fct_customer_features" in done.stdout
    assert 1000 < int(record["floor_checked_customers"]) <= 1200
    assert not (work / "run-smoke" / "warehouse.duckdb").exists()  # not kept by default
    # a scheduled build: data tests run, unit tests are left to `make test`
    built = json.loads((work / "run-smoke" / "node_seconds_full.json").read_text())
    assert any(node.startswith("test.") for node in built)
    assert not any(node.startswith("unit_test.") for node in built)
    assert list((work / "data").glob("demo-c1200-m25-*.parquet"))
    # the same log again, with the demo's attributes and events loaded from files: every row of
    # them reached the warehouse and the engagement mart describes most customers
    assert with_inputs["lines"] == record["lines"] and float(with_inputs["end_to_end_s"]) > 0
    loaded = re.search(
        r"loaded ([\d,]+) of ([\d,]+) engagement events and ([\d,]+) of ([\d,]+) attribute "
        r"values; ([\d,]+) customers of fct_customer_engagement have events",
        done.stdout,
    )
    assert loaded, done.stdout[-3000:]
    events, generated_events, values, generated_values, engaged = (
        int(group.replace(",", "")) for group in loaded.groups()
    )
    assert events == generated_events > 10_000 and values == generated_values > 100
    assert 1000 < engaged <= 1200
    assert "| smoke | full + inputs |" in markdown
    assert (work / "run-smoke" / "node_seconds_inputs.json").exists()
    # dbt parses the project before the clock starts: no measured build parses it in full
    for log in (work / "run-smoke" / "logs", work / "run-smoke" / "inputs" / "logs"):
        parsed = _full_parses_by_command(log / "dbt.log")
        assert parsed.count(("build", False)) >= 1 and ("build", True) not in parsed, parsed
        assert ("run", True) not in parsed and parsed[0][1], parsed  # only the first parses


def _full_parses_by_command(log: Path) -> list[tuple[str, bool]]:
    """Each dbt invocation in ``log``, in order: its command and whether it parsed the
    project from scratch."""
    invocations = []
    for chunk in log.read_text().split("Running with dbt=")[1:]:
        command = re.search(r"Command `(?:dbt|cli) (\w+)`", chunk)
        assert command, chunk[-2000:]
        invocations.append((command.group(1), "Unable to do partial parsing" in chunk))
    return invocations

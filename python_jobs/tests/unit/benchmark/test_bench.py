"""The pipeline benchmark (`segmentation bench`): its parts on small data.

The speed targets are not tested here (they depend on the machine); this checks that its
figures are measurements (a child that allocates memory shows it, the stages of a run take
time) and that the table has every column. tests/dbt/test_bench_dbt.py runs the command.
"""

from __future__ import annotations

import csv
import datetime as dt
import inspect
import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

from segmentation.benchmark import data, report, runner
from segmentation.benchmark.data import (
    NEXT_DAY_SUFFIX,
    SizeError,
    ensure_log,
    parse_size,
    parse_sizes,
    write_next_day,
)
from segmentation.benchmark.floor import FloorMismatch
from segmentation.benchmark.measure import Measurement, StepFailed, combine, run_measured
from segmentation.benchmark.pipeline import (
    Model,
    build_stages,
    chain_seconds,
    feature_models,
    merged_seconds,
)
from segmentation.config.segmentation import SegmentationSettings
from segmentation.demo import catalogue, tuning

# -- sizes -------------------------------------------------------------------------------------


def test_sizes_accept_presets_and_custom_forms_once_each():
    sizes = parse_sizes("1m, 10M,2000x6,1m")
    assert [(s.name, s.customers, s.months) for s in sizes] == [
        ("1m", 8_500, 25),
        ("10m", 85_000, 25),
        ("2000x6", 2000, 6),
    ]


@pytest.mark.parametrize("text", ["huge", "10x", "0x5", "5x0", "", " , "])
def test_bad_sizes_are_refused_with_the_accepted_forms(text):
    with pytest.raises(SizeError, match="size|CUSTOMERSxMONTHS"):
        parse_sizes(text) if "," in text or not text else parse_size(text)


# -- measuring child processes ----------------------------------------------------------------


def test_peak_memory_is_the_childs_own_as_the_os_reports_it(tmp_path):
    allocate = "import numpy; a = numpy.ones(300 * 2**20 // 8); print(a.sum())"
    big = run_measured("big", [sys.executable, "-c", allocate], log_path=tmp_path / "log")
    small = run_measured("small", [sys.executable, "-c", "print(1)"], log_path=tmp_path / "log")
    assert big.peak_rss_mib > 300 > small.peak_rss_mib
    assert big.seconds > 0 and small.seconds > 0
    both = combine("both", [big, small])
    assert both.seconds == pytest.approx(big.seconds + small.seconds)
    assert both.peak_rss_mib == big.peak_rss_mib


def test_a_large_parent_does_not_inflate_a_small_childs_peak(tmp_path):
    import numpy

    held = numpy.ones(600 * 2**20 // 8)  # this process now holds 600 MiB
    small = run_measured("small", [sys.executable, "-c", "print(1)"], log_path=tmp_path / "log")
    assert held.sum() > 0
    assert small.peak_rss_mib < 150


def test_a_failing_step_names_itself_and_shows_its_log(tmp_path):
    command = [sys.executable, "-c", "import sys; print('boom happened'); sys.exit(3)"]
    with pytest.raises(StepFailed, match=r"'broken' failed with exit code 3(.|\n)*boom happened"):
        run_measured("broken", command, log_path=tmp_path / "steps.log")
    unchecked = run_measured("broken", command, check=False)
    assert unchecked.returncode == 3 and not unchecked.ok


# -- the build plan ----------------------------------------------------------------------------


def _model(name: str, language: str = "sql", *parents: str) -> Model:
    return Model(f"model.p.{name}", name, language, tuple(f"model.p.{p}" for p in parents))


def test_feature_stage_is_the_feature_mart_and_what_it_is_built_from():
    models = [
        _model("stg"),
        _model("int", "sql", "stg"),
        _model("fct_customer_features", "sql", "int"),
        _model("rpt", "sql", "int"),
        _model("ml_a", "python", "fct_customer_features"),
        _model("mart", "sql", "ml_a", "fct_customer_features"),
    ]
    assert feature_models(models) == {"stg", "int", "fct_customer_features"}


def test_overlapping_intervals_count_once():
    assert merged_seconds([(0, 2), (1, 3), (5, 6), (5.5, 5.8)]) == pytest.approx(4.0)
    assert merged_seconds([]) == 0.0


def _node(kind: str, started: float, ended: float, language: str = "sql") -> dict:
    return {
        "unique_id": f"{kind}.p.n{started}",
        "resource_type": kind,
        "language": language,
        "started": started,
        "ended": ended,
        "execution_time": ended - started,
    }


def test_build_stages_split_one_build_by_node_kind():
    nodes = [
        _node("seed", 2.0, 3.0),
        _node("model", 3.0, 6.0),
        _node("model", 6.0, 10.0, "python"),
        _node("test", 5.0, 7.0),
        _node("unit_test", 2.5, 2.6),
        _node("model", 11.0, 12.0, "python"),
    ]
    samples = [(1.0, 100.0), (4.0, 300.0), (8.0, 900.0), (11.5, 500.0), (20.0, 9999.0)]
    stages = build_stages(nodes, samples)
    # SQL: start-up 0-2 and nodes 2-6; Python 6-10 and 11-12; tests 2.5-2.6 and 5-7
    assert stages["sql_models"] == (pytest.approx(6.0), 300.0)
    assert stages["python_models"] == (pytest.approx(5.0), 900.0)
    assert stages["tests"] == (pytest.approx(2.1), 0.0)  # no sample fell in its intervals


def test_the_feature_chain_is_timed_by_its_own_models_only():
    nodes = [
        {**_node("model", 1.0, 3.0), "unique_id": "model.p.stg"},
        {**_node("model", 2.0, 4.0), "unique_id": "model.p.int"},
        {**_node("model", 4.0, 9.0), "unique_id": "model.p.rpt"},  # not in the chain
        {**_node("test", 4.0, 5.0), "unique_id": "test.p.stg"},  # a test, not a model
        {**_node("model", 6.0, 6.5), "unique_id": "model.p.fct_customer_features"},
    ]
    chain = frozenset({"stg", "int", "fct_customer_features"})
    assert chain_seconds(nodes, chain) == pytest.approx(3.5)


# -- input files -------------------------------------------------------------------------------


def test_log_is_generated_once_and_the_next_day_copies_the_last_day(tmp_path):
    size = parse_size("60x2")
    log = ensure_log(tmp_path, size, seed=7)
    again = ensure_log(tmp_path, size, seed=7)
    assert again == log and log.path.stat().st_size > 0
    frame = pd.read_parquet(log.path)
    assert len(frame) == log.lines > 0
    assert frame["customer_id"].nunique() == log.customers <= 60

    next_day = write_next_day(log, tmp_path / "next.parquet")
    day = pd.read_parquet(next_day.path)
    last_date = frame["invoiced_at"].dt.date.max()
    last_day = frame[frame["invoiced_at"].dt.date == last_date]
    assert len(day) == next_day.lines == len(last_day) > 0
    assert set(day["invoiced_at"].dt.date) == {last_date + dt.timedelta(days=1)}
    assert day["invoice_id"].str.endswith(NEXT_DAY_SUFFIX).all()
    assert not set(day["invoice_id"]) & set(frame["invoice_id"])
    assert sorted(day["quantity"]) == sorted(last_day["quantity"])


def test_log_fingerprint_follows_every_module_of_the_generator(monkeypatch):
    before = data.generator_fingerprint()
    assert data.generator_fingerprint() == before
    source = inspect.getsource
    for module in (tuning, catalogue):  # modules other than the package's __init__
        with monkeypatch.context() as patched:
            patched.setattr(
                data.inspect,
                "getsource",
                lambda obj, changed=module: source(obj) + ("#\n" if obj is changed else ""),
            )
            assert data.generator_fingerprint() != before


# -- the floor's check ------------------------------------------------------------------------


def test_no_floor_figure_is_kept_when_the_floor_differs_from_the_mart(tmp_path, monkeypatch):
    """The bench stops at the size whose floor differs, with the check's message."""
    commands = []

    def measured(label, command, **_):
        commands.append(label)
        out = Path(command[command.index("--json-out") + 1])
        mismatch = "the same-work floor differs from the mart:\n- avg_order_value: 3 customers"
        out.write_text(json.dumps({"query_seconds": 0.5, "customers": 3, "mismatch": mismatch}))
        return Measurement(label, 1.0, 100.0, 0)

    monkeypatch.setattr(runner, "run_measured", measured)
    row = _row(report.FULL)
    bench = runner.Runner(repo_root=tmp_path, database=tmp_path / "w.duckdb", work=tmp_path)
    log = data.LogFile(tmp_path / "log.parquet", lines=10, customers=3)
    settings = SegmentationSettings.from_mapping(None)
    with pytest.raises(FloorMismatch, match=r"size 1m: the same-work floor differs(.|\n)*avg_"):
        runner._measure_references(row, bench, log, settings, tmp_path)
    assert commands == ["floor-query"]  # nothing measured after the failed check
    assert math.isnan(row.floor_query_s) and row.floor_checked_customers is None


# -- the table ---------------------------------------------------------------------------------


def _row(build: str) -> report.BenchRow:
    """A row of made-up figures (feature chain 1.5 s, end to end 11 s), nothing referenced."""
    return report.BenchRow(
        size="1m", build=build, lines=10, new_lines=2, customers=3, load_average=0.5,
        load_s=1, load_peak_mib=100, sql_models_s=2, sql_models_peak_mib=200,
        python_models_s=3, python_models_peak_mib=300, tests_s=4, tests_peak_mib=400,
        publish_s=1, publish_peak_mib=100, end_to_end_s=11, end_to_end_peak_mib=400,
        feature_sql_s=1.5,
    )  # fmt: skip


def test_table_has_every_column_and_marks_what_was_not_measured(tmp_path):
    row = _row(report.DAILY)
    path = tmp_path / "table.csv"
    report.write_csv([row], path)
    with path.open() as handle:
        records = list(csv.DictReader(handle))
    assert list(records[0]) == report.columns()
    assert records[0]["floor_s"] == "" and records[0]["vs_notebook"] == ""
    text = report.markdown([row], "a machine", ["measured at night"])
    assert "a machine" in text and "measured at night" in text
    assert "daily (+2 lines)" in text and "11.0 s / 400 MiB" in text


def test_the_three_floor_ratios_stand_side_by_side_and_the_notebook_apart():
    figures = dict(
        lines=10, customers=3, load_average=0.5, load_s=1, load_peak_mib=100, sql_models_s=2,
        sql_models_peak_mib=200, python_models_s=3, python_models_peak_mib=300, tests_s=4,
        tests_peak_mib=400, publish_s=1, publish_peak_mib=100, end_to_end_s=11,
        end_to_end_peak_mib=400,
    )  # fmt: skip
    full = report.BenchRow(
        size="1m", build=report.FULL, new_lines=10, feature_sql_s=8.0, floor_query_s=2.0,
        floor_checked_customers=3, floor_s=4.0, notebook_s=5.0, **figures,
    )  # fmt: skip
    daily = report.BenchRow(
        size="1m", build=report.DAILY, new_lines=2, feature_sql_s=3.0, **figures
    )
    lines = report.markdown([full, daily], "a machine").splitlines()
    floor = _table_row(lines, "feature chain, daily build")
    assert floor["customers, floor = mart"] == "3"
    assert floor["full refresh / floor query"] == "4.00×"
    assert floor["feature chain, daily build"] == "3.0 s"
    assert floor["daily build / floor query"] == "1.50×"
    assert floor["end to end / (floor + K-Means)"] == "2.75×"
    notebook = _table_row(lines, "notebook (less work)")
    assert notebook["end to end / notebook"] == "2.20×"
    intro = lines[lines.index(next(line for line in lines if "notebook (less" in line)) - 2]
    assert "does less work" in intro and "no target" in intro
    assert "floor" not in " ".join(notebook)  # the notebook's table has no floor column


def _table_row(lines: list[str], column: str) -> dict[str, str]:
    """The first data row of the Markdown table whose header has ``column``, by header."""
    header = next(line for line in lines if f" {column} " in line)
    row = lines[lines.index(header) + 2]
    return dict(zip(_cells(header), _cells(row), strict=True))


def _cells(line: str) -> list[str]:
    """The cells of a Markdown table line."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]

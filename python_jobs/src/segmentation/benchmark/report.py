"""The benchmark table: one row per size and build, written as CSV and Markdown.

Times are wall-clock seconds and memory is the operating system's peak resident set size in
MiB, per stage and end to end (load, one ``dbt build`` and publish, one after another; the
stages inside the build overlap, see ``pipeline.py``). The ratios compare the pipeline with the
references measured in the same run on the same data: the same-work floor (``floor.py``),
whose rows were checked equal to the feature mart's before its time is kept, and the notebook
baseline, which does less work and is shown for reference only.
"""

from __future__ import annotations

import csv
import math
import os
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from importlib import metadata
from pathlib import Path

from segmentation.benchmark.pipeline import STAGES

FULL = "full"
DAILY = "daily"
# a full build of the same log with the optional inputs loaded too, in a warehouse of its own
FULL_WITH_INPUTS = "full + inputs"


@dataclass
class BenchRow:
    """One pipeline run: a full build of a size, the daily build after it, or a full build
    with the optional inputs."""

    size: str
    build: str  # FULL, DAILY or FULL_WITH_INPUTS
    lines: int  # in the warehouse after the run
    new_lines: int  # loaded by this run
    customers: int
    load_average: float  # 1-minute load average of the machine when the run started
    load_s: float
    load_peak_mib: float
    sql_models_s: float
    sql_models_peak_mib: float
    python_models_s: float
    python_models_peak_mib: float
    tests_s: float
    tests_peak_mib: float
    publish_s: float
    publish_peak_mib: float
    end_to_end_s: float
    end_to_end_peak_mib: float
    # the feature chain: full, rebuilt alone in full after the run; daily, within the daily
    # build, incremental (pipeline.py)
    feature_sql_s: float
    floor_query_s: float = math.nan
    floor_checked_customers: int | None = None  # rows the floor and the mart agreed on
    floor_s: float = math.nan
    floor_peak_mib: float = math.nan
    notebook_s: float = math.nan
    notebook_peak_mib: float = math.nan

    @property
    def feature_sql_vs_floor(self) -> float:
        return _ratio(self.feature_sql_s, self.floor_query_s)

    @property
    def vs_floor(self) -> float:
        return _ratio(self.end_to_end_s, self.floor_s)

    @property
    def vs_notebook(self) -> float:
        return _ratio(self.end_to_end_s, self.notebook_s)

    def as_record(self) -> dict[str, object]:
        record: dict[str, object] = asdict(self)
        record["feature_sql_vs_floor"] = self.feature_sql_vs_floor
        record["vs_floor"] = self.vs_floor
        record["vs_notebook"] = self.vs_notebook
        return record


def columns() -> list[str]:
    """Every column of the CSV, in order."""
    return [f.name for f in fields(BenchRow)] + ["feature_sql_vs_floor", "vs_floor", "vs_notebook"]


def _ratio(ours: float, reference: float) -> float:
    if math.isnan(reference) or reference <= 0:
        return math.nan
    return ours / reference


def write_csv(rows: Sequence[BenchRow], path: Path) -> None:
    """All columns, numbers rounded to what a measurement can tell (NaN: not measured)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns())
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(v) for k, v in row.as_record().items()})


def _csv_value(value: object) -> object:
    if isinstance(value, float):
        return "" if math.isnan(value) else round(value, 3)
    return value


def machine_description() -> str:
    """CPU, cores, memory and the versions that matter, in one line."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB RAM"
    except (OSError, ValueError):
        pass
    versions = ", ".join(
        f"{name} {_version(name)}" for name in ("duckdb", "dbt-core", "dbt-duckdb", "scikit-learn")
    )
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, {versions}"
    )


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def _s(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1f} s"


def _mib(value: float) -> str:
    if math.isnan(value):
        return "–"
    return f"{value / 1024:.1f} GiB" if value >= 1024 else f"{value:.0f} MiB"


def _x(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}×"


STAGE_TITLES = {
    "load": "load",
    "sql_models": "SQL models",
    "python_models": "Python models",
    "tests": "tests",
    "publish": "publish",
}


def markdown(rows: Sequence[BenchRow], machine: str, notes: Sequence[str] = ()) -> str:
    """Markdown tables under a line on the machine: the stages; the ratios against the
    same-work floor; the notebook baseline (when the references were measured)."""
    out = [f"Measured on: {machine}", ""]
    out += [f"- {note}" for note in notes]
    if notes:
        out.append("")
    out.append(
        "Wall time and peak memory (OS-measured peak RSS) per stage; SQL models, Python models "
        "and tests are the stretches of one `dbt build` during which a node of that kind ran "
        "(they overlap), end to end is load + build + publish"
        + (
            "; a full + inputs row builds the same log in a warehouse of its own with the demo's "
            "customer attributes and engagement events loaded too (its load stage loads all "
            "three files):"
            if any(row.build == FULL_WITH_INPUTS for row in rows)
            else ":"
        )
    )
    out.append("")
    header = ["size", "build", "lines", "customers", "load avg"]
    header += [STAGE_TITLES[s] for s in STAGES] + ["end to end"]
    out += _table(header, [_stage_cells(row) for row in rows])
    out += _floor_table(rows)
    out += _notebook_table(rows)
    return "\n".join(out) + "\n"


def _stage_cells(row: BenchRow) -> list[str]:
    """One row of the stage table: what was built, then time / peak per stage."""
    cells = [
        row.size,
        f"{row.build} (+{row.new_lines:,} lines)" if row.build == DAILY else row.build,
        f"{row.lines:,}",
        f"{row.customers:,}",
        f"{row.load_average:.1f}",
    ]
    for stage in (*STAGES, "end_to_end"):
        seconds = getattr(row, f"{stage}_s")
        peak = getattr(row, f"{stage}_peak_mib")
        cells.append(f"{_s(seconds)} / {_mib(peak)}")
    return cells


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table's lines."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(cells) + " |" for cells in rows]


def _floor_table(rows: Sequence[BenchRow]) -> list[str]:
    """The three ratios against the same-work floor, side by side for each size."""
    measured = [r for r in rows if r.build == FULL and not math.isnan(r.floor_query_s)]
    if not measured:
        return []
    daily_features = {r.size: r.feature_sql_s for r in rows if r.build == DAILY}
    cells = []
    for row in measured:
        daily_s = daily_features.get(row.size, math.nan)
        cells.append(
            [
                row.size,
                f"{row.lines:,}",
                "–" if row.floor_checked_customers is None else f"{row.floor_checked_customers:,}",
                _s(row.feature_sql_s),
                _s(row.floor_query_s),
                _x(row.feature_sql_vs_floor),
                _s(daily_s),
                _x(_ratio(daily_s, row.floor_query_s)),
                _s(row.end_to_end_s),
                f"{_s(row.floor_s)} / {_mib(row.floor_peak_mib)}",
                _x(row.vs_floor),
            ]
        )
    header = [
        "size",
        "lines",
        "customers, floor = mart",
        "feature chain, full refresh",
        "floor query",
        "full refresh / floor query",
        "feature chain, daily build",
        "daily build / floor query",
        "end to end",
        "floor + K-Means",
        "end to end / (floor + K-Means)",
    ]
    intro = (
        "The pipeline against the same-work floor (one hand-written DuckDB query giving the "
        "rows of `fct_customer_features`, checked equal to them row for row in this run before "
        "any ratio; end to end it reads the log file and adds one K-Means fit), same data, "
        "same run:"
    )
    return ["", intro, "", *_table(header, cells)]


def _notebook_table(rows: Sequence[BenchRow]) -> list[str]:
    """The notebook baseline beside the pipeline: a reference that does less, no target."""
    measured = [r for r in rows if not math.isnan(r.notebook_s)]
    if not measured:
        return []
    cells = [
        [
            row.size,
            f"{row.lines:,}",
            _s(row.end_to_end_s),
            f"{_s(row.notebook_s)} / {_mib(row.notebook_peak_mib)}",
            _x(row.vs_notebook),
        ]
        for row in measured
    ]
    intro = (
        "The notebook baseline does less work (pandas recency, frequency and monetary value "
        "with no trimming, de-duplication, non-product codes or cancellation netting, then "
        "K-Means for k = 2..10): a reference, with no target attached:"
    )
    header = ["size", "lines", "end to end", "notebook (less work)", "end to end / notebook"]
    return ["", intro, "", *_table(header, cells)]

"""The list of charts and the loop that draws them into a folder.

Each chart names the warehouse tables it needs. A chart whose tables do not exist yet (e.g.
history before a second run) or hold too little is *skipped*: one log line says why, and a small
placeholder image with the reason takes its file name, so the docs page that links it never
shows a broken image and never an out-of-date chart. ``charts.json`` in the folder lists every
chart with its status.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from matplotlib.figure import Figure

from segmentation.charts import model, monitoring, optional_inputs, profiles
from segmentation.charts.source import (
    ASSIGNMENTS,
    CANDIDATES,
    CUSTOMER_RFM,
    DIM_SEGMENTS,
    FEATURES,
    TRANSFORM_PARAMS,
    ChartSkipped,
    ChartSource,
    open_source,
)
from segmentation.charts.style import placeholder, plt, save, style_context

INDEX_FILE = "charts.json"
DRAWN = "drawn"
SKIPPED = "skipped"
FAILED = "failed"


@dataclass(frozen=True)
class Chart:
    """One chart: its file stem, title, the tables it reads and the function that draws it."""

    name: str
    title: str
    tables: tuple[str, ...]
    draw: Callable[[ChartSource], Figure]

    @property
    def file_name(self) -> str:
        return f"{self.name}.png"


@dataclass(frozen=True)
class ChartResult:
    """What happened to one chart: ``drawn``, ``skipped`` (its data is not there yet) or
    ``failed`` (an error while drawing), the latter two with the reason."""

    name: str
    title: str
    file_name: str  # inside the charts folder
    status: str
    reason: str | None = None


def _tables(*names: str) -> tuple[str, ...]:
    return tuple(names)


CHARTS: tuple[Chart, ...] = (
    Chart(
        "model_selection",
        "Model selection: quality metrics by number of segments",
        _tables(CANDIDATES),
        model.model_selection,
    ),
    Chart(
        "silhouette",
        "Silhouette of the kept model by segment",
        _tables(TRANSFORM_PARAMS, ASSIGNMENTS, FEATURES),
        model.silhouette_winner,
    ),
    Chart(
        "segment_projection",
        "Customers by segment in two dimensions (PCA)",
        _tables(TRANSFORM_PARAMS, ASSIGNMENTS, FEATURES),
        model.segment_projection,
    ),
    Chart(
        "segment_profiles",
        "Segment profiles: feature lift over the average customer",
        _tables(FEATURES, ASSIGNMENTS),
        profiles.segment_profile,
    ),
    Chart(
        "segment_sizes",
        "Segment sizes and revenue shares",
        _tables(DIM_SEGMENTS),
        profiles.segment_sizes,
    ),
    Chart(
        "rfm_grid",
        "Classic RFM grid and the RFM mix of each segment",
        _tables(CUSTOMER_RFM),
        profiles.rfm_grid,
    ),
    Chart(
        "engagement_lifts",
        "Engagement by segment: lifts and coverage",
        _tables(optional_inputs.ENGAGEMENT_PROFILES),
        optional_inputs.engagement_lifts,
    ),
    Chart(
        "attribute_mix",
        "Customer attribute mix per segment",
        _tables(optional_inputs.ATTRIBUTE_PROFILES),
        optional_inputs.attribute_mix,
    ),
    Chart(
        "segment_stability",
        "Stability of each segment",
        _tables(monitoring.STABILITY),
        monitoring.segment_stability,
    ),
    Chart(
        "segment_sizes_over_time",
        "Segment sizes over time",
        _tables(monitoring.SIZE_HISTORY),
        monitoring.segment_sizes_over_time,
    ),
    Chart(
        "segment_migration",
        "Migration of customers between segments",
        _tables(monitoring.MIGRATION),
        monitoring.segment_migration,
    ),
    Chart(
        "model_migration",
        "What each retrain changed for the customers",
        _tables(monitoring.MODEL_MIGRATION, monitoring.REGISTRY_RUNS),
        monitoring.model_migration,
    ),
)
CHART_NAMES: tuple[str, ...] = tuple(chart.name for chart in CHARTS)


def render_charts(
    database: Path,
    output_dir: Path,
    names: Sequence[str] | None = None,
    log: Callable[[str], None] = print,
) -> list[ChartResult]:
    """Draw the charts (all, or those named) from ``database`` into ``output_dir``.

    The warehouse is opened read-only once and closed at the end. Returns one result per chart;
    ``log`` gets one line per chart.
    """
    charts = select_charts(names)
    output_dir.mkdir(parents=True, exist_ok=True)
    results: list[ChartResult] = []
    with open_source(database) as source:
        for chart in charts:
            results.append(_render_one(chart, source, output_dir, log))
    _write_index(output_dir, results)
    return results


def select_charts(names: Iterable[str] | None) -> tuple[Chart, ...]:
    """The charts with these names, in the registry's order (all when ``names`` is None)."""
    if names is None:
        return CHARTS
    wanted = list(names)
    unknown = [name for name in wanted if name not in CHART_NAMES]
    if unknown:
        raise ValueError(f"unknown chart(s) {unknown}; known: {', '.join(CHART_NAMES)}")
    return tuple(chart for chart in CHARTS if chart.name in wanted)


def _render_one(
    chart: Chart, source: ChartSource, output_dir: Path, log: Callable[[str], None]
) -> ChartResult:
    path = output_dir / chart.file_name
    missing = source.missing(chart.tables)
    try:
        if missing:
            raise ChartSkipped(f"{', '.join(missing)} does not exist yet")
        with style_context():
            save(chart.draw(source), path)
    except ChartSkipped as skipped:
        with style_context():
            save(placeholder(chart.title, str(skipped)), path)
        log(f"skipped {chart.name}: {skipped}")
        return ChartResult(chart.name, chart.title, chart.file_name, SKIPPED, str(skipped))
    except Exception as error:  # one broken chart must not stop the others; reported as failed
        plt.close("all")
        reason = f"{type(error).__name__}: {error}"
        with style_context():
            save(placeholder(chart.title, f"drawing failed ({reason})"), path)
        log(f"FAILED {chart.name}: {reason}")
        return ChartResult(chart.name, chart.title, chart.file_name, FAILED, reason)
    log(f"wrote {path}")
    return ChartResult(chart.name, chart.title, chart.file_name, DRAWN)


def read_index(output_dir: Path) -> list[ChartResult]:
    """The results recorded in ``output_dir/charts.json`` (empty when there is none, or when it
    was written in another layout, e.g. by an older version)."""
    index = output_dir / INDEX_FILE
    if not index.exists():
        return []
    try:
        return [ChartResult(**entry) for entry in json.loads(index.read_text())]
    except (TypeError, ValueError):
        return []


def _write_index(output_dir: Path, results: list[ChartResult]) -> None:
    """Record the results, keeping earlier entries of charts not drawn this time."""
    by_name = {result.name: result for result in read_index(output_dir)}
    by_name.update({result.name: result for result in results})
    ordered = [by_name[name] for name in CHART_NAMES if name in by_name]
    index = output_dir / INDEX_FILE
    partial = index.with_name(f".{INDEX_FILE}.partial")
    partial.write_text(json.dumps([asdict(result) for result in ordered], indent=2) + "\n")
    partial.replace(index)

"""Charts of the segmentation over time: per-segment stability, segment sizes across runs and
migration of customers between segments. Each is skipped until its table exists."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from segmentation.charts.source import ChartSkipped, ChartSource, segment_names
from segmentation.charts.style import (
    colour_segment_ticks,
    new_figure,
    segment_colour,
    segment_label,
    set_titles,
)

STABILITY = "ml.ml_segment_stability"
SIZE_HISTORY = "monitoring.mon_segment_size_history"
MIGRATION = "monitoring.mon_segment_migration"

# Hennig's rule of thumb for bootstrap Jaccard stability of a cluster.
STABLE_THRESHOLD = 0.75
DISSOLVED_THRESHOLD = 0.5


def segment_stability(source: ChartSource) -> Figure:
    """Each segment's bootstrap stability (mean Jaccard, 0 … 1) as a bar in the segment's
    colour, with the worst resample marked."""
    columns = source.columns(STABILITY)
    value = _pick(columns, ("mean_jaccard", "stability", "stability_score"))
    low = _pick(columns, ("min_jaccard",), required=False)
    recovered = _pick(columns, ("recovered_count",), required=False)
    resamples = _pick(columns, ("resamples_with_segment", "resamples"), required=False)
    selected = ", ".join(c for c in ("segment_id", value, low, recovered, resamples) if c)
    table = source.nonempty_frame(
        f"select {selected} from {STABILITY} order by segment_id", STABILITY
    )
    if table[value].isna().all():
        raise ChartSkipped(f"{STABILITY}.{value} is null for every segment")
    names = segment_names(source)
    labels = [segment_label(sid, names.get(int(sid))) for sid in table["segment_id"]]
    positions = np.arange(len(table))
    figure, ax = new_figure(11, max(4.0, 0.55 * len(table) + 2))
    values = table[value].astype(float)
    ax.barh(
        positions,
        values.fillna(0),
        color=[segment_colour(sid) for sid in table["segment_id"]],
        edgecolor="black",
        linewidth=0.4,
    )
    if low:
        ax.scatter(
            table[low].astype(float),
            positions,
            marker="|",
            s=260,
            color="black",
            linewidth=2,
            zorder=4,
            label="worst resample (min Jaccard)",
        )
    for y, row in enumerate(table.itertuples(index=False)):
        number = getattr(row, value)
        text = "not in the sample" if pd.isna(number) else f"{number:.2f}"
        if recovered and resamples and not pd.isna(number):
            text += f"  (≥ {STABLE_THRESHOLD} in {getattr(row, recovered)} of "
            text += f"{getattr(row, resamples)} resamples)"
        ax.text(1.02, y, text, va="center", fontsize=8.5, transform=ax.get_yaxis_transform())
    ax.axvline(STABLE_THRESHOLD, color="#2e7d32", linestyle="--", linewidth=1)
    ax.axvline(DISSOLVED_THRESHOLD, color="#c0392b", linestyle=":", linewidth=1)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("Jaccard similarity of the segment with its best match in a resample (0 … 1)")
    set_titles(
        ax,
        "Stability of each segment under bootstrap resampling",
        f"bar: mean Jaccard; dashed {STABLE_THRESHOLD}: stable, dotted {DISSOLVED_THRESHOLD}: "
        "dissolving (Hennig's rule of thumb)",
    )
    handles = [Patch(facecolor="#dddddd", edgecolor="black", label=f"{value} (segment colour)")]
    handles += ax.get_legend_handles_labels()[0]
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0, -0.1 - 0.6 / max(len(table), 1)),
        ncol=2,
    )
    ax.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure


def segment_sizes_over_time(source: ChartSource) -> Figure:
    """Share of customers in each segment per run, one line per segment."""
    columns = source.columns(SIZE_HISTORY)
    when = _pick(columns, ("as_of_date", "run_at", "scored_at", "snapshot_date"))
    count = _pick(columns, ("customer_count", "customers", "n_customers"))
    table = source.nonempty_frame(
        f"select {when} as run, segment_id, sum({count}) as customers from {SIZE_HISTORY} "
        "group by 1, 2 order by 1, 2",
        SIZE_HISTORY,
    )
    if table["run"].nunique() < 2:
        raise ChartSkipped(f"{SIZE_HISTORY} has one run so far (two are needed for a trend)")
    table["share"] = table["customers"] / table.groupby("run")["customers"].transform("sum")
    names = segment_names(source)
    figure, ax = new_figure(11, 6)
    for segment_id, rows in table.groupby("segment_id"):
        ax.plot(
            pd.to_datetime(rows["run"]),
            rows["share"] * 100,
            marker="o",
            color=segment_colour(segment_id),
            label=segment_label(segment_id, names.get(int(segment_id))),
        )
    ax.set_xlabel(f"Run ({when.replace('_', ' ')})")
    ax.set_ylabel("Share of customers (%)")
    ax.set_title("Segment sizes over time", loc="left")
    ax.legend(title="Segment", loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure


def segment_migration(source: ChartSource) -> Figure:
    """Where the customers of each previous segment are now (row percentages)."""
    columns = source.columns(MIGRATION)
    origin = _pick(columns, ("from_segment_id", "previous_segment_id"))
    target = _pick(columns, ("to_segment_id", "current_segment_id", "segment_id"))
    count = _pick(columns, ("customer_count", "customers", "n_customers"))
    table = source.nonempty_frame(
        f"select {origin} as origin, {target} as target, sum({count}) as customers "
        f"from {MIGRATION} where {origin} is not null and {target} is not null group by 1, 2",
        MIGRATION,
    )
    matrix = table.pivot(index="origin", columns="target", values="customers").fillna(0)
    shares = matrix.div(matrix.sum(axis=1), axis=0) * 100
    names = segment_names(source)
    figure, ax = new_figure(10, 8)
    sns.heatmap(
        shares,
        ax=ax,
        cmap="Blues",
        vmin=0,
        vmax=100,
        annot=shares.map(lambda value: f"{value:.0f}" if value >= 0.5 else "").to_numpy(),
        fmt="",
        linewidths=0.5,
        linecolor="white",
        cbar_kws={"label": "Share of the previous segment's customers (%)"},
        xticklabels=[segment_label(s, names.get(int(s))) for s in shares.columns],
        yticklabels=[
            f"{segment_label(s, names.get(int(s)))} (n = {int(matrix.loc[s].sum()):,})"
            for s in shares.index
        ],
    )
    ax.set_xticklabels(ax.get_xticklabels(), rotation=35, ha="right")
    ax.set_yticklabels(ax.get_yticklabels(), rotation=0)
    colour_segment_ticks(ax.get_xticklabels(), shares.columns)
    colour_segment_ticks(ax.get_yticklabels(), shares.index)
    ax.set_xlabel("Segment now")
    ax.set_ylabel("Segment in the previous run")
    ax.set_title("Migration between the last two runs (% of each previous segment)", loc="left")
    figure.tight_layout()
    return figure


def _pick(columns: Sequence[str], candidates: Sequence[str], required: bool = True) -> str | None:
    for name in candidates:
        if name in columns:
            return name
    if required:
        raise ChartSkipped(f"none of the columns {list(candidates)} is in the table")
    return None

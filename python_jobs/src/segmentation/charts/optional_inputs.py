"""Charts of the optional inputs: engagement lifts and the attribute mix of each segment.

Both read the segment profiles of the optional inputs (``fct_segment_engagement_profiles`` and
``fct_segment_attribute_profiles``) and are skipped, with the reason, when the input is not
loaded. Every cell or bar says how many of the segment the figure covers: attributes and
engagement are partial, and coverage is shown rather than imputed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from segmentation.charts.profiles import lift_heatmap
from segmentation.charts.source import ChartSkipped, ChartSource, segment_names
from segmentation.charts.style import colour_segment_ticks, new_figure, segment_label, set_titles
from segmentation.describe.engagement import ENGAGEMENT_LABELS

ENGAGEMENT_PROFILES = "marts.fct_segment_engagement_profiles"
ATTRIBUTE_PROFILES = "marts.fct_segment_attribute_profiles"
# At most this many attributes are drawn (the best covered first), in panels of this many
# columns.
MAX_ATTRIBUTES = 8
PANEL_COLUMNS = 2
ALL_CUSTOMERS = -1


def _profiles(source: ChartSource, table: str, what: str) -> pd.DataFrame:
    if not source.has_table(table):
        raise ChartSkipped(f"{table} does not exist yet")
    frame = source.frame(f"select * from {table}")
    if frame.empty:
        raise ChartSkipped(f"no {what} loaded ({table} is empty)")
    return frame


def engagement_lifts(source: ChartSource) -> Figure:
    """Heatmap of segment x engagement feature lift, each cell with its coverage."""
    frame = _profiles(source, ENGAGEMENT_PROFILES, "engagement events")
    frame = frame.sort_values(["segment_id", "feature_position"])
    lift = frame.pivot(index="segment_id", columns="feature_name", values="lift").astype(float)
    coverage = frame.pivot(index="segment_id", columns="feature_name", values="coverage")
    order = [f for f in frame.sort_values("feature_position")["feature_name"].unique()]
    lift, coverage = lift[order], coverage[order].astype(float)
    means = frame.drop_duplicates("feature_name").set_index("feature_name")["population_mean"]
    annotations = [
        [_cell(lift.iloc[i, j], coverage.iloc[i, j]) for j in range(lift.shape[1])]
        for i in range(lift.shape[0])
    ]
    names = segment_names(source)
    sizes = frame.drop_duplicates("segment_id").set_index("segment_id")["segment_customers"]
    rows = [f"{segment_label(s, names.get(int(s)))} (n = {int(sizes[s]):,})" for s in lift.index]
    columns = [f"{ENGAGEMENT_LABELS.get(f, f)}\nall: {_short(means[f])}" for f in lift.columns]
    size = (max(10.0, 1.5 * len(columns) + 4), max(4.5, 0.6 * len(rows) + 3.2))
    figure, ax = lift_heatmap(lift, np.array(annotations, dtype=object), columns, rows, size)
    ax.set_xlabel("Engagement feature and its mean over all customers with a value")
    ax.set_ylabel("")
    set_titles(
        ax,
        "Engagement by segment: site and email against the average customer",
        "cell: lift (segment mean ÷ all-customer mean) and the share of the segment it covers",
    )
    figure.tight_layout()
    return figure


def attribute_mix(source: ChartSource) -> Figure:
    """One panel per attribute: the category shares of each segment and of all customers."""
    frame = _profiles(source, ATTRIBUTE_PROFILES, "customer attributes")
    attributes = (
        frame.groupby("attribute_name")["population_coverage"]
        .max()
        .sort_values(ascending=False)
        .index[:MAX_ATTRIBUTES]
    )
    names = segment_names(source)
    panels = len(attributes)
    columns = min(PANEL_COLUMNS, panels)
    rows = math.ceil(panels / columns)
    segments = sorted(int(s) for s in frame["segment_id"].unique())
    height = max(3.0, 0.32 * (len(segments) + 1) + 1.2)
    figure, axes = new_figure(7.5 * columns, height * rows + 1.0, nrows=rows, ncols=columns)
    axes = np.atleast_1d(axes).ravel()
    for ax, attribute in zip(axes, attributes, strict=False):
        _attribute_panel(ax, frame[frame["attribute_name"] == attribute], segments, names)
    for ax in axes[panels:]:
        ax.set_visible(False)
    figure.suptitle(
        "Who the segments are: the mix of each customer attribute (where known)",
        x=0.01,
        ha="left",
        fontweight="bold",
    )
    figure.tight_layout()
    return figure


def _attribute_panel(ax, rows: pd.DataFrame, segments: list[int], names: dict[int, str]) -> None:
    """Stacked 100% bars: one per segment (with its coverage) and one for all customers."""
    categories = _category_order(rows)
    share = rows.pivot(index="segment_id", columns="attribute_category", values="category_share")
    share = share.reindex(index=segments, columns=categories).astype(float).fillna(0.0)
    population = rows.drop_duplicates("attribute_category").set_index("attribute_category")
    share.loc[ALL_CUSTOMERS] = population["population_share"].reindex(categories).astype(float)
    coverage = rows.drop_duplicates("segment_id").set_index("segment_id")["coverage"]
    labels = [
        f"{segment_label(s, names.get(s))} ({100 * float(coverage[s]):.0f}% known)"
        for s in segments
    ]
    overall = float(rows["population_coverage"].iloc[0])
    labels.append(f"All customers ({100 * overall:.0f}% known)")
    palette = sns.color_palette("viridis", len(categories))
    left = np.zeros(len(share))
    y = np.arange(len(share))[::-1]
    for position, category in enumerate(categories):
        values = share[category].to_numpy()
        ax.barh(y, values, left=left, color=palette[position], label=category, height=0.75)
        for row, value in enumerate(values):
            if value >= 0.08:
                colour = "white" if position < len(categories) / 2 else "black"
                ax.text(left[row] + value / 2, y[row], f"{100 * value:.0f}%", ha="center",
                        va="center", fontsize=7, color=colour)  # fmt: skip
        left += values
    ax.set_yticks(y, labels=labels, fontsize=8)
    colour_segment_ticks(ax.get_yticklabels()[: len(segments)], segments)
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1], labels=["0", "25%", "50%", "75%", "100%"])
    ax.set_title(str(rows["attribute_name"].iloc[0]).replace("_", " "), loc="left", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7.5, frameon=False, title=None)


def _category_order(rows: pd.DataFrame) -> list[str]:
    """Numeric categories by value, others as they sort (bands such as 18-24 sort well)."""
    categories = [str(c) for c in rows["attribute_category"].unique()]
    numbers = pd.to_numeric(pd.Series(categories), errors="coerce")
    if numbers.notna().all():
        return [c for _, c in sorted(zip(numbers, categories, strict=True))]
    return sorted(categories)


def _cell(lift: float, coverage: float) -> str:
    if pd.isna(lift):
        return "—"
    return f"×{lift:.2f}\n{100 * coverage:.0f}%"


def _short(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number):
        return "—"
    return f"{number:,.0f}" if abs(number) >= 100 else f"{number:.2f}"

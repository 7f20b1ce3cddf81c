"""Charts of what the segments are: feature profiles, sizes and revenue, and how they sit on
the classic RFM grid."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from segmentation.charts.source import (
    ASSIGNMENTS,
    CUSTOMER_RFM,
    DIM_SEGMENTS,
    FEATURES,
    TRANSFORM_PARAMS,
    ChartSkipped,
    ChartSource,
    segment_names,
)
from segmentation.charts.style import (
    colour_segment_ticks,
    contrast_text_colour,
    feature_label,
    new_figure,
    segment_colour,
    segment_label,
    set_titles,
)
from segmentation.config.segmentation import FEATURE_COLUMNS

# Lift is shown on a log2 scale clipped to ±LIFT_LOG2_LIMIT (a 4x or 1/4x lift is saturated).
LIFT_LOG2_LIMIT = 2.0
# Order of the named RFM grid segments, best first (names not listed go last, alphabetically).
RFM_ORDER = (
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New",
    "Promising",
    "Need Attention",
    "About To Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
)
GRID_LEVELS = 5


def segment_profile(source: ChartSource) -> Figure:
    """Heatmap of segment x feature lift: the segment's mean over the all-customer mean."""
    missing = source.missing([FEATURES, ASSIGNMENTS])
    if missing:
        raise ChartSkipped(f"{', '.join(missing)} does not exist yet")
    features = _profile_features(source)
    means = ", ".join(f"avg(features.{name}) as {name}" for name in features)
    per_segment = source.nonempty_frame(
        f"select assignments.segment_id, count(*) as customers, {means} "
        f"from {FEATURES} as features inner join {ASSIGNMENTS} as assignments "
        "on features.customer_id = assignments.customer_id "
        "group by assignments.segment_id order by assignments.segment_id",
        f"{ASSIGNMENTS} joined to {FEATURES}",
    ).set_index("segment_id")
    overall = source.frame(
        f"select {', '.join(f'avg({name}) as {name}' for name in features)} from {FEATURES}"
    ).iloc[0]
    usable = [name for name in features if pd.notna(overall[name]) and overall[name] > 0]
    if not usable:
        raise ChartSkipped("no feature has a positive all-customer mean")
    lift = per_segment[usable].astype(float).div(overall[usable].astype(float), axis=1)
    names = segment_names(source)
    row_labels = [
        f"{segment_label(segment_id, names.get(int(segment_id)))} "
        f"(n = {int(per_segment.loc[segment_id, 'customers']):,})"
        for segment_id in lift.index
    ]
    column_labels = [
        f"{feature_label(name)}\nall: {_short_number(overall[name])}" for name in usable
    ]
    annotations = lift.map(lambda value: "—" if pd.isna(value) else f"×{value:.2f}")
    width = max(10.0, 1.05 * len(usable) + 4)
    height = max(4.5, 0.55 * len(lift) + 3.2)
    figure, ax = lift_heatmap(
        lift, annotations.to_numpy(), column_labels, row_labels, (width, height)
    )
    ax.set_xlabel("Feature (unit) and its mean over all customers")
    ax.set_ylabel("")
    set_titles(
        ax,
        "Segment profiles: how each segment differs from the average customer",
        "cell: segment mean ÷ all-customer mean; red above average, blue below, white ×1",
    )
    figure.tight_layout()
    return figure


def lift_heatmap(
    lift: pd.DataFrame,
    annotations: np.ndarray,
    column_labels: list[str],
    row_labels: list[str],
    size: tuple[float, float],
) -> tuple[Figure, object]:
    """Segment (rows, by id) x feature lift on a log2 colour scale clipped to
    ±LIFT_LOG2_LIMIT, red above average and blue below, segment ticks in their colours."""
    log_lift = np.log2(lift.clip(lower=2**-8)).clip(-LIFT_LOG2_LIMIT, LIFT_LOG2_LIMIT)
    figure, ax = new_figure(*size)
    sns.heatmap(
        log_lift,
        ax=ax,
        cmap="RdBu_r",
        norm=TwoSlopeNorm(vcenter=0, vmin=-LIFT_LOG2_LIMIT, vmax=LIFT_LOG2_LIMIT),
        annot=annotations,
        fmt="",
        annot_kws={"fontsize": 8},
        linewidths=0.5,
        linecolor="white",
        cbar_kws={"label": "Lift: segment mean ÷ all-customer mean (log₂ scale)", "shrink": 0.8},
        xticklabels=column_labels,
        yticklabels=row_labels,
    )
    colourbar = ax.collections[0].colorbar
    ticks = np.arange(-LIFT_LOG2_LIMIT, LIFT_LOG2_LIMIT + 1)
    colourbar.set_ticks(ticks, labels=[f"×{2**tick:g}" for tick in ticks])
    ax.set_xticklabels(ax.get_xticklabels(), rotation=40, ha="right", fontsize=8.5)
    ax.set_yticklabels(ax.get_yticklabels(), rotation=0)
    colour_segment_ticks(ax.get_yticklabels(), lift.index)
    return figure, ax


def segment_sizes(source: ChartSource) -> Figure:
    """Each segment's share of customers and of net revenue, side by side."""
    if not source.has_table(DIM_SEGMENTS):
        raise ChartSkipped(f"{DIM_SEGMENTS} does not exist yet")
    segments = source.nonempty_frame(
        f"select segment_id, customer_count, customer_share, revenue_amount, revenue_share "
        f"from {DIM_SEGMENTS} order by segment_id",
        DIM_SEGMENTS,
    )
    names = segment_names(source)
    labels = [segment_label(sid, names.get(int(sid))) for sid in segments["segment_id"]]
    colours = [segment_colour(sid) for sid in segments["segment_id"]]
    height = max(4.0, 0.5 * len(segments) + 2)
    figure, axes = new_figure(14, height, ncols=2, sharey=True)
    panels = [
        ("customer_share", "customer_count", "Share of customers (%)", "Customers", "{:,.0f}"),
        ("revenue_share", "revenue_amount", "Share of net revenue (%)", "Net revenue", "{:,.0f}"),
    ]
    positions = np.arange(len(segments))
    for ax, (share, amount, xlabel, title, number) in zip(axes, panels, strict=True):
        values = segments[share].astype(float) * 100
        ax.barh(positions, values, color=colours, edgecolor="black", linewidth=0.4)
        for y, (value, total) in enumerate(zip(values, segments[amount], strict=True)):
            ax.text(
                value + values.max() * 0.01,
                y,
                f"{value:.1f}%  ({number.format(total)})",
                va="center",
                fontsize=8.5,
            )
        ax.set_xlim(0, values.max() * 1.32)
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(positions, labels)
    axes[0].invert_yaxis()
    axes[1].set_title("Net revenue (amount in the shop's currency)")
    figure.suptitle(
        f"Segment sizes and revenue shares ({int(segments['customer_count'].sum()):,} customers)"
    )
    figure.tight_layout()
    return figure


def rfm_grid(source: ChartSource) -> Figure:
    """The named RFM grid with customer counts per cell, and the RFM mix of each segment."""
    if not source.has_table(CUSTOMER_RFM):
        raise ChartSkipped(f"{CUSTOMER_RFM} does not exist yet")
    rfm = source.nonempty_frame(
        f"select recency_score, frequency_monetary_score, rfm_segment_name from {CUSTOMER_RFM}",
        CUSTOMER_RFM,
    )
    # Scores come from percent ranks, so the best recency score is the bin count (when the
    # customers' recencies are not all equal); the grid rescales it to five levels.
    bins = int(rfm["recency_score"].max())
    bins = GRID_LEVELS if bins < 2 else bins
    rfm["grid_recency"] = np.ceil(rfm["recency_score"] * GRID_LEVELS / bins).astype(int)
    names = _rfm_names(rfm["rfm_segment_name"].unique())
    palette = dict(zip(names, sns.color_palette("Set3", len(names)), strict=True))
    has_segments = source.has_table(ASSIGNMENTS)
    figure, axes = new_figure(17 if has_segments else 9, 7.2, ncols=2 if has_segments else 1)
    grid_ax = axes[0] if has_segments else axes
    _draw_rfm_cells(grid_ax, rfm, palette)
    counts = rfm["rfm_segment_name"].value_counts()
    grid_ax.legend(
        handles=[
            Patch(facecolor=palette[name], edgecolor="grey", label=f"{name} ({counts[name]:,})")
            for name in names
        ],
        title="RFM segment (customers)",
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
        fontsize=8.5,
    )
    if has_segments:
        _draw_rfm_mix(axes[1], source, names)
    figure.suptitle(f"Classic RFM grid ({len(rfm):,} customers)")
    figure.tight_layout()
    return figure


def _draw_rfm_cells(ax, rfm: pd.DataFrame, palette: dict) -> None:
    cells = rfm.groupby(["grid_recency", "frequency_monetary_score"])
    counts = cells.size()
    names = cells["rfm_segment_name"].agg(lambda values: values.mode().iloc[0])
    for recency in range(1, GRID_LEVELS + 1):
        for fm in range(1, GRID_LEVELS + 1):
            key = (recency, fm)
            name = names.get(key)
            colour = palette.get(name, (0.95, 0.95, 0.95))
            ax.add_patch(
                Rectangle(
                    (fm - 0.5, recency - 0.5),
                    1,
                    1,
                    facecolor=colour,
                    edgecolor="white",
                    linewidth=2,
                )
            )
            count = int(counts.get(key, 0))
            ax.text(
                fm,
                recency,
                f"{count:,}",
                ha="center",
                va="center",
                fontsize=10,
                color=contrast_text_colour(colour) if name else "#999999",
            )
    ax.set_xlim(0.5, GRID_LEVELS + 0.5)
    ax.set_ylim(0.5, GRID_LEVELS + 0.5)
    ax.set_aspect("equal")
    ticks = range(1, GRID_LEVELS + 1)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlabel("Frequency-monetary score (1 = fewest orders and lowest spend … 5)")
    ax.set_ylabel("Recency score (1 = longest ago … 5 = most recent)")
    ax.set_title("Customers per RFM cell, coloured by named segment", loc="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)


def _draw_rfm_mix(ax, source: ChartSource, rfm_names: list[str]) -> None:
    mix = source.frame(
        f"select assignments.segment_id, rfm.rfm_segment_name, count(*) as customers "
        f"from {CUSTOMER_RFM} as rfm inner join {ASSIGNMENTS} as assignments "
        "on rfm.customer_id = assignments.customer_id "
        "group by assignments.segment_id, rfm.rfm_segment_name"
    )
    table = mix.pivot(index="segment_id", columns="rfm_segment_name", values="customers")
    table = table.reindex(columns=rfm_names).fillna(0).sort_index()
    shares = table.div(table.sum(axis=1), axis=0) * 100
    names = segment_names(source)
    labels = [segment_label(sid, names.get(int(sid))) for sid in shares.index]
    annotations = shares.map(lambda value: f"{value:.0f}" if value >= 0.5 else "")
    sns.heatmap(
        shares,
        ax=ax,
        cmap="Greys",
        vmin=0,
        vmax=100,
        annot=annotations.to_numpy(),
        fmt="",
        annot_kws={"fontsize": 8},
        linewidths=0.5,
        linecolor="white",
        cbar_kws={"label": "Share of the segment's customers (%)"},
        xticklabels=rfm_names,
        yticklabels=labels,
    )
    ax.set_xticklabels(ax.get_xticklabels(), rotation=35, ha="right")
    ax.set_yticklabels(ax.get_yticklabels(), rotation=0)
    colour_segment_ticks(ax.get_yticklabels(), shares.index)
    ax.set_xlabel("RFM segment")
    ax.set_ylabel("")
    ax.set_title("RFM mix of each segment (% of the segment's customers)", loc="left")


def _rfm_names(found) -> list[str]:
    known = [name for name in RFM_ORDER if name in set(found)]
    return known + sorted(set(found) - set(RFM_ORDER))


def _profile_features(source: ChartSource) -> list[str]:
    """The model's used features when known, else every feature column the table has."""
    available = set(source.columns(FEATURES))
    if source.has_table(TRANSFORM_PARAMS):
        used = source.frame(
            f"select feature_name from {TRANSFORM_PARAMS} where is_used order by feature_position"
        )["feature_name"].tolist()
        used = [name for name in used if name in available]
        if used:
            return used
    return [name for name in FEATURE_COLUMNS if name in available]


def _short_number(value: float) -> str:
    value = float(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}"
    return f"{value:.2f}" if not math.isclose(value, 0.0) else "0"

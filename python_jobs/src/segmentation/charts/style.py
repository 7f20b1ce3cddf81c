"""Look of every chart: the Agg backend, one colour per segment, readable labels, saving.

A segment keeps its colour in every chart because the colour depends on the segment id alone
(ids are stable: 1 = highest median net revenue, and a retrain matches ids to the previous
model), never on the order in which a chart happens to draw segments.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display: must come before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

DPI = 110
# Colour-blind-safe qualitative palette (seaborn's "colorblind"), then more distinct hues for
# configurations with more than ten segments.
_BASE_PALETTE: list[tuple[float, float, float]] = [
    tuple(colour) for colour in sns.color_palette("colorblind", 10)
]
_EXTRA_PALETTE: list[tuple[float, float, float]] = [
    tuple(colour) for colour in sns.color_palette("husl", 10)
]
PALETTE: tuple[tuple[float, float, float], ...] = tuple(_BASE_PALETTE + _EXTRA_PALETTE)

# Display names with units of the feature columns of fct_customer_features.
FEATURE_LABELS: dict[str, str] = {
    "recency_days": "Recency (days)",
    "frequency_orders": "Orders (count)",
    "monetary_amount": "Net revenue (currency)",
    "tenure_days": "Tenure (days)",
    "avg_order_value": "Order value (currency/order)",
    "avg_items_per_order": "Items per order (units)",
    "avg_unit_price": "Unit price (currency/unit)",
    "distinct_products": "Distinct products (count)",
    "cancellation_rate": "Cancelled units (share)",
    "mean_days_between_orders": "Days between orders (days)",
    "weekend_order_share": "Weekend orders (share)",
    "evening_order_share": "Evening orders (share)",
    "active_months": "Active months (count)",
    "country_count": "Countries (count)",
}

RC = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "figure.titlesize": 13,
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
}


def segment_colour(segment_id: int) -> tuple[float, float, float]:
    """The colour of a segment in every chart (a function of its id only)."""
    return PALETTE[(int(segment_id) - 1) % len(PALETTE)]


def segment_colours(segment_ids: Iterable[int]) -> dict[int, tuple[float, float, float]]:
    """Segment id -> colour for the given ids."""
    return {int(segment_id): segment_colour(segment_id) for segment_id in segment_ids}


def segment_label(segment_id: int, name: str | None) -> str:
    """``"3 · Bargain hunters"``; just ``"Segment 3"`` when the name only repeats the id."""
    segment_id = int(segment_id)
    if not name or str(name).strip() in ("", f"Segment {segment_id}"):
        return f"Segment {segment_id}"
    return f"{segment_id} · {name}"


def feature_label(feature: str) -> str:
    """Readable name with unit of a feature column."""
    return FEATURE_LABELS.get(feature, feature.replace("_", " ").capitalize())


def new_figure(width: float, height: float, **subplot_kw) -> tuple[Figure, object]:
    """A figure of ``width`` x ``height`` inches with ``plt.subplots(**subplot_kw)``.

    Draw inside :func:`style_context` so titles, fonts and legends take the house style (matplotlib
    reads its settings when each text or legend is made).
    """
    return plt.subplots(figsize=(width, height), **subplot_kw)


def style_context():
    """Context manager applying the house style while a chart is drawn and saved."""
    return plt.rc_context(RC)


def set_titles(ax, title: str, subtitle: str | None = None) -> None:
    """A bold left-aligned title with an optional one-line grey subtitle under it."""
    ax.set_title(title, loc="left", pad=22 if subtitle else 8)
    if subtitle:
        ax.text(
            0,
            1.012,
            subtitle,
            transform=ax.transAxes,
            ha="left",
            va="bottom",
            fontsize=9,
            color="#555555",
        )


def colour_segment_ticks(labels, segment_ids: Iterable[int]) -> None:
    """Give tick labels naming segments their segment's colour as a background, with readable
    text on it (coloured text alone is unreadable for light colours such as yellow)."""
    for label, segment_id in zip(labels, segment_ids, strict=True):
        colour = segment_colour(segment_id)
        label.set_color(contrast_text_colour(colour))
        label.set_fontweight("bold")
        label.set_bbox({"facecolor": colour, "edgecolor": "none", "pad": 2.0})


def save(figure: Figure, path: Path) -> Path:
    """Write ``figure`` as PNG atomically (a reader never sees half a file) and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with style_context():
            figure.savefig(partial, format="png", bbox_inches="tight", facecolor="white")
        os.replace(partial, path)
    finally:
        plt.close(figure)
        partial.unlink(missing_ok=True)
    return path


def placeholder(title: str, reason: str) -> Figure:
    """A small figure saying why a chart is not drawn, so the docs page never shows a broken
    image."""
    figure = plt.figure(figsize=(9, 1.6))
    figure.text(0.02, 0.68, title, fontsize=12, fontweight="bold", color="#333333")
    figure.text(0.02, 0.3, f"Not drawn yet: {reason}", fontsize=10, color="#666666", wrap=True)
    return figure


def contrast_text_colour(colour: tuple[float, ...]) -> str:
    """Black or white, whichever reads better on ``colour`` (relative luminance)."""
    red, green, blue = colour[:3]
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "black" if luminance > 0.5 else "white"

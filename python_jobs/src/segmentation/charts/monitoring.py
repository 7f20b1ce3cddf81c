"""Charts of the segmentation over time: per-segment stability, segment sizes across runs with
the model versions on the same time line, migration of customers between segments (between
the last two runs, and from each replaced model to its successor). Each is skipped until its
table exists."""

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
SIZE_HISTORY = "monitoring.mon_assignment_history"
MIGRATION = "monitoring.mon_segment_migration"
REGISTRY_RUNS = "ml.ml_registry_runs"
MODEL_MIGRATION = "ml.ml_model_migration"
# Retrains drawn side by side in the model-migration chart (the latest ones).
MAX_RETRAIN_PANELS = 3

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
    """Customers per segment in every scoring run: shares as lines, counts as stacked bars; a
    dashed line marks each run that trained a new model version (with why)."""
    table = source.nonempty_frame(
        f"select run_id, as_of_date, segment_id, count(*) as customers from {SIZE_HISTORY} "
        "group by run_id, as_of_date, segment_id order by run_id, segment_id",
        SIZE_HISTORY,
    )
    runs = table[["run_id", "as_of_date"]].drop_duplicates().sort_values("run_id")
    if len(runs) < 2:
        raise ChartSkipped(f"{SIZE_HISTORY} has one run so far (two are needed for a trend)")
    position = {run: i for i, run in enumerate(runs["run_id"])}
    run_labels = [f"run {run}\n{_date(day)}" for run, day in runs.itertuples(index=False)]
    counts = table.pivot(index="run_id", columns="segment_id", values="customers").fillna(0)
    counts = counts.reindex(runs["run_id"])
    # a segment with no customer in a run (before it was created, after it was retired) has no
    # share there: a gap in its line, not a zero
    shares = (counts.div(counts.sum(axis=1), axis=0) * 100).where(counts > 0)
    names = segment_names(source)
    figure, (share_ax, count_ax) = new_figure(15, 6.5, ncols=2)
    x = np.array([position[run] for run in counts.index])
    bottom = np.zeros(len(counts))
    for segment_id in counts.columns:
        colour = segment_colour(segment_id)
        label = segment_label(segment_id, names.get(int(segment_id)))
        share_ax.plot(x, shares[segment_id], marker="o", color=colour, label=label)
        count_ax.bar(x, counts[segment_id], bottom=bottom, color=colour, edgecolor="white")
        bottom += counts[segment_id].to_numpy()
    share_ax.set_ylim(0, max(5.0, float(np.nanmax(shares.to_numpy())) * 1.25))
    versions = _model_versions(source, position)
    many = len(runs) > 6
    for ax in (share_ax, count_ax):
        if many:  # dates alone, slanted, so a year of monthly runs stays readable
            ax.set_xticks(x, [_date(day) for day in runs["as_of_date"]], rotation=45, ha="right")
        else:
            ax.set_xticks(x, run_labels, fontsize=8.5)
        ax.set_xlabel("Scoring run (as-of date)")
        ax.grid(axis="y", alpha=0.3)
        _mark_versions(ax, versions, label_top=ax is share_ax)
    share_ax.set_ylabel("Share of customers (%)")
    share_ax.set_title("Share of customers per segment", loc="left")
    count_ax.set_ylabel("Customers (count)")
    count_ax.set_title("Customers per run, stacked by segment", loc="left")
    figure.legend(
        *share_ax.get_legend_handles_labels(),
        title="Segment",
        loc="upper left",
        bbox_to_anchor=(1.0, 0.92),
        frameon=False,
    )
    trained = f", {len(versions)} model versions (dashed: a retrain, and why)" if versions else ""
    figure.suptitle(f"Segment sizes over {len(runs)} scoring runs{trained}")
    figure.tight_layout()
    return figure


def _model_versions(source: ChartSource, position: dict[int, int]) -> list[tuple[int, str]]:
    """(x position, label) of every run that trained a version, from the registry log when it
    is there (none otherwise)."""
    if not source.has_table(REGISTRY_RUNS):
        return []
    trained = source.frame(
        f"select run_id, model_version_id, reason_codes from {REGISTRY_RUNS} "
        "where is_training_run order by run_id"
    )
    marks = []
    for row in trained.itertuples(index=False):
        if int(row.run_id) not in position:
            continue
        number = str(row.model_version_id).split("-", 1)[0]
        reasons = str(row.reason_codes or "").replace(",", ", ").replace("_", " ")
        marks.append((position[int(row.run_id)], f"{number}: {reasons}" if reasons else number))
    return marks


def _mark_versions(ax, versions: list[tuple[int, str]], label_top: bool) -> None:
    for x, label in versions:
        ax.axvline(x - 0.5 if x else x, color="0.35", linestyle="--", linewidth=1, zorder=0)
        if label_top:
            ax.annotate(
                label,
                xy=(x - 0.45 if x else x + 0.05, 0.98),
                xycoords=("data", "axes fraction"),
                rotation=90,
                va="top",
                fontsize=7.5,
                color="0.25",
            )


def model_migration(source: ChartSource) -> Figure:
    """For the latest retrains: where the customers of each segment of the replaced model are
    under the new model (both scoring the same customers, so only the model changed)."""
    table = source.frame(
        f"select m.model_version_id, m.previous_model_version_id, m.from_segment_id, "
        f"m.to_segment_id, m.customer_count, r.as_of_date from {MODEL_MIGRATION} m "
        f"join {REGISTRY_RUNS} r on r.model_version_id = m.model_version_id "
        "and r.is_training_run"
    )
    if table.empty:
        raise ChartSkipped(f"{MODEL_MIGRATION} is empty: no retrain so far (one model version)")
    retrains = (
        table[["model_version_id", "previous_model_version_id", "as_of_date"]]
        .drop_duplicates()
        .sort_values("as_of_date")
        .tail(MAX_RETRAIN_PANELS)
    )
    names = segment_names(source)
    figure, axes = new_figure(6.2 * len(retrains) + 1.5, 6.2, ncols=len(retrains))
    axes = np.atleast_1d(axes)
    for ax, retrain in zip(axes, retrains.itertuples(index=False), strict=True):
        own = table[table["model_version_id"] == retrain.model_version_id]
        matrix = own.pivot_table(
            index="from_segment_id",
            columns="to_segment_id",
            values="customer_count",
            aggfunc="sum",
            fill_value=0,
        )
        shares = matrix.div(matrix.sum(axis=1), axis=0) * 100
        kept = sum(int(matrix.loc[s, s]) for s in matrix.index if s in matrix.columns) / max(
            int(matrix.to_numpy().sum()), 1
        )
        _share_heatmap(
            ax,
            shares,
            [segment_label(s, names.get(int(s))) for s in shares.columns],
            [f"{s} (n = {int(matrix.loc[s].sum()):,})" for s in shares.index],
            colour_bar=ax is axes[-1],
        )
        ax.set_xticklabels(ax.get_xticklabels(), rotation=35, ha="right", fontsize=8)
        ax.set_yticklabels(ax.get_yticklabels(), rotation=0, fontsize=8)
        _colour_segment_labels(ax.get_xticklabels(), list(shares.columns))
        _colour_segment_labels(ax.get_yticklabels(), list(shares.index))
        new, old = (str(v).split("-", 1)[0] for v in retrain[:2])
        ax.set_xlabel(f"Segment under {new} (trained as of {_date(retrain.as_of_date)})")
        ax.set_ylabel(f"Segment under {old}")
        ax.set_title(f"{old} → {new}: {kept:.0%} keep their segment id", loc="left", fontsize=10)
    figure.suptitle(
        "What each retrain changed: the replaced model's segments (rows) under the new model "
        "(columns), same customers"
    )
    figure.tight_layout()
    return figure


def segment_migration(source: ChartSource) -> Figure:
    """Where the customers of each segment of the previous run are in the latest run."""
    table = source.frame(
        f"select from_run_id, from_as_of_date, to_run_id, to_as_of_date, from_segment_id, "
        f"to_segment_id, customer_count from {MIGRATION} "
        f"where to_run_id = (select max(to_run_id) from {MIGRATION})"
    )
    if table.empty:
        raise ChartSkipped(f"{MIGRATION} is empty: one scoring run so far (two are compared)")
    first = table.iloc[0]
    table["origin"] = table["from_segment_id"].fillna(NEW_CUSTOMERS).astype(int)
    table["target"] = table["to_segment_id"].fillna(GONE).astype(int)
    matrix = table.pivot_table(
        index="origin", columns="target", values="customer_count", aggfunc="sum", fill_value=0
    )
    matrix = matrix.reindex(
        index=sorted(matrix.index, key=_last_if_special),
        columns=sorted(matrix.columns, key=_last_if_special),
    )
    shares = matrix.div(matrix.sum(axis=1), axis=0) * 100
    names = segment_names(source)
    stayed = int(
        table.loc[table["from_segment_id"] == table["to_segment_id"], "customer_count"].sum()
    )
    compared = int(table.loc[table["from_segment_id"].notna(), "customer_count"].sum())
    width = max(9.0, 1.1 * len(shares.columns) + 4)
    figure, ax = new_figure(width, max(6.0, 0.6 * len(shares) + 3))
    _share_heatmap(
        ax,
        shares,
        [_migration_label(s, names, NOT_SCORED) for s in shares.columns],
        [
            f"{_migration_label(s, names, FIRST_SCORED)} (n = {int(matrix.loc[s].sum()):,})"
            for s in shares.index
        ],
    )
    ax.set_xticklabels(ax.get_xticklabels(), rotation=35, ha="right")
    ax.set_yticklabels(ax.get_yticklabels(), rotation=0)
    _colour_segment_labels(ax.get_xticklabels(), shares.columns)
    _colour_segment_labels(ax.get_yticklabels(), shares.index)
    ax.set_xlabel(f"Segment in run {first['to_run_id']} (as of {_date(first['to_as_of_date'])})")
    ax.set_ylabel(
        f"Segment in run {first['from_run_id']} (as of {_date(first['from_as_of_date'])})"
    )
    kept = f"{stayed / compared:.0%}" if compared else "n/a"
    set_titles(
        ax,
        "Migration of customers between the last two scoring runs",
        f"row percentages; {kept} of the customers scored in both runs kept their segment",
    )
    figure.tight_layout()
    return figure


# Margins of the migration matrix: customers new in the latest run, and customers absent from it
# (pseudo segment ids; real ids are positive). Not "new customers": that may be a persona name.
FIRST_SCORED = "(first scored in this run)"
NOT_SCORED = "(not scored in this run)"
# Pseudo segment ids for the margins of the migration matrix (real ids are 1 … k).
NEW_CUSTOMERS = -1
GONE = -2


def _share_heatmap(
    ax, shares: pd.DataFrame, columns: list[str], rows: list[str], colour_bar: bool = True
) -> None:
    """Row percentages as a heatmap, with the figures written in the cells that hold any."""
    sns.heatmap(
        shares,
        ax=ax,
        cmap="Blues",
        vmin=0,
        vmax=100,
        cbar=colour_bar,
        annot=shares.map(lambda value: f"{value:.0f}" if value >= 0.5 else "").to_numpy(),
        fmt="",
        annot_kws={"fontsize": 8.5},
        linewidths=0.5,
        linecolor="white",
        cbar_kws={"label": "Share of the row's customers (%)"},
        xticklabels=columns,
        yticklabels=rows,
    )


def _last_if_special(segment_id: int) -> tuple[int, int]:
    return (1, -segment_id) if segment_id < 0 else (0, segment_id)


def _migration_label(segment_id: int, names: dict[int, str], special: str) -> str:
    return special if segment_id < 0 else segment_label(segment_id, names.get(int(segment_id)))


def _colour_segment_labels(labels, segment_ids) -> None:
    pairs = [(label, sid) for label, sid in zip(labels, segment_ids, strict=True) if sid > 0]
    colour_segment_ticks([label for label, _ in pairs], [sid for _, sid in pairs])


def _date(value: object) -> str:
    return str(pd.Timestamp(value).date()) if value is not None and not pd.isna(value) else "?"


def _pick(columns: Sequence[str], candidates: Sequence[str], required: bool = True) -> str | None:
    for name in candidates:
        if name in columns:
            return name
    if required:
        raise ChartSkipped(f"none of the columns {list(candidates)} is in the table")
    return None

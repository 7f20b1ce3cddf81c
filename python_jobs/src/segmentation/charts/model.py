"""Charts of the clustering model: how it was chosen, how well its segments separate, and
where customers lie in two dimensions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_samples

from segmentation.charts.source import (
    CANDIDATES,
    REPRESENTATIVES,
    SEGMENT_MODEL,
    ChartSkipped,
    ChartSource,
    model_settings,
    prepared_features,
    seeded_sample,
    segment_names,
)
from segmentation.charts.style import (
    contrast_text_colour,
    new_figure,
    segment_colour,
    segment_label,
    set_titles,
)
from segmentation.config.segmentation import SegmentationSettings

ALGORITHM_NAMES = {
    "kmeans": "K-Means",
    "gaussian_mixture": "Gaussian mixture",
    "agglomerative": "Agglomerative",
    "dbscan": "DBSCAN",
    "hdbscan": "HDBSCAN",
}
# Line and marker per algorithm family (colours here tell algorithms apart, not segments, so
# they come from a neutral-to-dark scheme distinct from the segment palette's meaning).
_SERIES_STYLE = {
    "kmeans": ("#1b1b1b", "o", "-"),
    "gaussian_mixture": ("#7a5195", "s", "-"),
    "agglomerative": ("#2f7f9f", "^", "-"),
    "dbscan": ("#c2571a", "D", ""),
    "hdbscan": ("#8c6d1f", "P", ""),
}
DEFAULT_SAMPLE_SIZE = 3000
PROJECTION_POINTS = 4000
DEFAULT_RANDOM_STATE = 42


def model_selection(source: ChartSource) -> Figure:
    """Silhouette, the weakest segment's bootstrap stability and inertia against the number of
    segments, per algorithm; the winner is starred, the runner-up ringed."""
    candidates = source.nonempty_frame(
        f"select candidate_id, algorithm, parameters, n_segments, silhouette, "
        f"min_segment_stability, inertia, is_winner, is_qualified, rank from {CANDIDATES} "
        "where status = 'ok' order by algorithm, n_segments",
        f"{CANDIDATES} (candidates that ran)",
    )
    candidates["series"] = [
        _series_name(algorithm, parameters)
        for algorithm, parameters in zip(
            candidates["algorithm"], candidates["parameters"], strict=True
        )
    ]
    panels = [
        ("silhouette", "Silhouette (−1 … 1, higher is better)", "Mean silhouette"),
        (
            "min_segment_stability",
            "Weakest segment's stability (measured candidates)",
            "Bootstrap Jaccard of the least stable segment",
        ),
        (
            "inertia",
            "K-Means inertia (elbow)",
            "Inertia (sum of squared distances, prepared units²)",
        ),
    ]
    figure, axes = new_figure(16, 5.2, ncols=3)
    handles: dict[str, Line2D] = {}
    for ax, (metric, title, ylabel) in zip(axes, panels, strict=True):
        for series, rows in candidates.groupby("series", sort=True):
            rows = rows.dropna(subset=[metric]).sort_values("n_segments")
            if rows.empty:
                continue
            colour, marker, linestyle = _style(rows["algorithm"].iloc[0], series)
            (line,) = ax.plot(
                rows["n_segments"],
                rows[metric],
                color=colour,
                marker=marker,
                linestyle=linestyle or "none",
                markersize=6,
                linewidth=1.6,
                label=series,
            )
            handles.setdefault(series, line)
        runner_up = candidates[candidates["rank"] == 2].dropna(subset=[metric])
        ax.scatter(
            runner_up["n_segments"],
            runner_up[metric],
            s=260,
            facecolor="none",
            edgecolor="black",
            linewidth=1.2,
            zorder=5,
        )
        if metric == "min_segment_stability":
            threshold = _stability_threshold(source)
            ax.axhline(threshold, color="#b03a2e", linestyle="--", linewidth=1.0)
            ax.text(
                0.01,
                threshold,
                f" stable from {threshold:g}",
                color="#b03a2e",
                va="bottom",
                transform=ax.get_yaxis_transform(),
            )
        winner = candidates[candidates["is_winner"].astype(bool)].dropna(subset=[metric])
        if not winner.empty:
            ax.scatter(
                winner["n_segments"],
                winner[metric],
                s=320,
                marker="*",
                facecolor="#f2c230",
                edgecolor="black",
                linewidth=0.8,
                zorder=5,
            )
        ax.set_title(title)
        ax.set_xlabel("Number of segments k (found, for DBSCAN and HDBSCAN)")
        ax.set_ylabel(ylabel)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        if not ax.has_data():
            ax.text(0.5, 0.5, "no candidate has this metric", ha="center", transform=ax.transAxes)
    winner_star = Line2D(
        [],
        [],
        marker="*",
        linestyle="none",
        markersize=15,
        markerfacecolor="#f2c230",
        markeredgecolor="black",
        label="kept model",
    )
    runner_ring = Line2D(
        [],
        [],
        marker="o",
        linestyle="none",
        markersize=13,
        markerfacecolor="none",
        markeredgecolor="black",
        label="runner-up",
    )
    figure.legend(
        handles=[*handles.values(), winner_star, runner_ring],
        loc="lower center",
        ncol=min(len(handles) + 2, 6),
        bbox_to_anchor=(0.5, -0.02),
        frameon=False,
    )
    winners = candidates.loc[candidates["is_winner"].astype(bool), "candidate_id"]
    kept = winners.iloc[0] if len(winners) else "none"
    figure.suptitle(f"Model selection: {len(candidates)} candidates, kept model {kept}")
    figure.tight_layout(rect=(0, 0.1, 1, 1))
    return figure


def silhouette_winner(source: ChartSource) -> Figure:
    """Silhouette of every sampled customer under the kept model, grouped by segment."""
    prepared = prepared_features(source)
    settings = model_settings(source)
    size = int(settings.get("selection", {}).get("silhouette_sample_size", DEFAULT_SAMPLE_SIZE))
    seed = int(settings.get("random_state", DEFAULT_RANDOM_STATE))
    rows = seeded_sample(len(prepared.segment_ids), size, seed)
    labels = prepared.segment_ids[rows]
    if len(np.unique(labels)) < 2:
        raise ChartSkipped("the kept model has fewer than two segments in the sample")
    values = silhouette_samples(prepared.matrix[rows], labels)
    names = segment_names(source)
    recorded = _recorded_silhouette(source)
    figure, ax = new_figure(10, 7.5)
    gap = max(10, len(rows) // 80)
    bottom = 0
    ticks, tick_labels = [], []
    for segment_id in sorted(np.unique(labels)):
        segment_values = np.sort(values[labels == segment_id])
        top = bottom + len(segment_values)
        ax.fill_betweenx(
            np.arange(bottom, top),
            0,
            segment_values,
            color=segment_colour(segment_id),
            edgecolor="none",
        )
        ticks.append((bottom + top) / 2)
        tick_labels.append(
            f"{segment_label(segment_id, names.get(int(segment_id)))}\n"
            f"mean {segment_values.mean():.2f}, n = {len(segment_values):,}"
        )
        bottom = top + gap
    mean = float(values.mean())
    ax.axvline(
        mean,
        color="#c0392b",
        linestyle="--",
        linewidth=1.4,
        label=f"mean of the sample: {mean:.2f}",
    )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.legend(loc="lower right")
    ax.set_yticks(ticks, tick_labels, fontsize=8.5)
    ax.invert_yaxis()
    ax.set_ylim(bottom, -gap)
    ax.set_xlim(min(-0.2, float(values.min()) - 0.05), 1)
    ax.set_xlabel(
        "Silhouette coefficient (−1 … 1; above 0: closer to own segment than to the next)"
    )
    ax.set_ylabel("Customers, sorted within each segment")
    subtitle = f"seeded sample of {len(rows):,} customers"
    if recorded is not None:
        subtitle += f"; the model's recorded silhouette is {recorded:.2f}"
    if prepared.how != "sql_expression":
        subtitle += "; features re-standardised here (the kept fit is not SQL-scorable)"
    set_titles(ax, "Silhouette of the kept model by segment", subtitle)
    figure.tight_layout()
    return figure


def segment_projection(source: ChartSource) -> Figure:
    """Customers on the first two principal components of the prepared features, coloured by
    segment, with each segment's representative."""
    prepared = prepared_features(source)
    if prepared.matrix.shape[1] < 2:
        raise ChartSkipped("the model uses fewer than two features")
    seed = int(model_settings(source).get("random_state", DEFAULT_RANDOM_STATE))
    pca = PCA(n_components=2, random_state=seed).fit(prepared.matrix)
    rows = seeded_sample(len(prepared.segment_ids), PROJECTION_POINTS, seed)
    points = pca.transform(prepared.matrix[rows])
    labels = prepared.segment_ids[rows]
    names = segment_names(source)
    figure, ax = new_figure(10.5, 7.5)
    for segment_id in sorted(np.unique(prepared.segment_ids)):
        mask = labels == segment_id
        ax.scatter(
            points[mask, 0],
            points[mask, 1],
            s=9,
            alpha=0.45,
            color=segment_colour(segment_id),
            edgecolor="none",
            label=segment_label(segment_id, names.get(int(segment_id))),
        )
    representatives = _representatives(source, prepared.feature_names)
    if representatives is not None and prepared.how == "sql_expression":
        centres = pca.transform(representatives.to_numpy(dtype=float))
        for segment_id, (x, y) in zip(representatives.index, centres, strict=True):
            ax.scatter(
                x,
                y,
                s=360,
                color=segment_colour(segment_id),
                edgecolor="black",
                linewidth=1.2,
                zorder=5,
            )
            ax.text(
                x,
                y,
                str(segment_id),
                ha="center",
                va="center",
                fontsize=9,
                fontweight="bold",
                color=contrast_text_colour(segment_colour(segment_id)),
                zorder=6,
            )
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(f"Principal component 1 ({ratio[0]:.0%} of variance, prepared units)")
    ax.set_ylabel(f"Principal component 2 ({ratio[1]:.0%} of variance, prepared units)")
    shown = f"{len(rows):,} of {len(prepared.segment_ids):,} customers"
    set_titles(
        ax,
        "Customers by segment: 2-D projection (PCA) of the model's prepared features",
        f"{shown} shown; large circles: segment representatives",
    )
    legend = ax.legend(title="Segment", loc="upper left", bbox_to_anchor=(1.01, 1), markerscale=2.5)
    for handle in legend.legend_handles:
        handle.set_alpha(1)
    ax.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def _stability_threshold(source: ChartSource) -> float:
    """The kept model's segmentation.selection.min_segment_stability (the default without one)."""
    text = None
    if source.has_table(SEGMENT_MODEL):
        model = source.frame(f"select settings_json from {SEGMENT_MODEL}")
        text = model["settings_json"].iloc[0] if len(model) else None
    return SegmentationSettings.from_mapping(text).selection.min_segment_stability


def _series_name(algorithm: str, parameters: str | None) -> str:
    name = ALGORITHM_NAMES.get(algorithm, algorithm)
    values = json.loads(parameters) if parameters else {}
    if algorithm == "agglomerative" and values.get("linkage"):
        return f"{name} ({values['linkage']})"
    if algorithm == "gaussian_mixture" and values.get("covariance_type"):
        return f"{name} ({values['covariance_type']})"
    return name


def _style(algorithm: str, series: str) -> tuple[str, str, str]:
    colour, marker, linestyle = _SERIES_STYLE.get(algorithm, ("#555555", "x", "-"))
    if algorithm == "agglomerative" and "average" in series:
        return "#7fb7d0", "v", "--"
    return colour, marker, linestyle


def _recorded_silhouette(source: ChartSource) -> float | None:
    if not source.has_table(SEGMENT_MODEL):
        return None
    rows = source.frame(f"select silhouette from {SEGMENT_MODEL}")
    if rows.empty or pd.isna(rows.iloc[0, 0]):
        return None
    return float(rows.iloc[0, 0])


def _representatives(source: ChartSource, features: tuple[str, ...]) -> pd.DataFrame | None:
    """Segment x feature matrix of representatives in prepared units, columns in ``features``
    order; None when the table lacks any of them."""
    if not source.has_table(REPRESENTATIVES):
        return None
    long = source.frame(
        f"select segment_id, feature_name, value_scaled from {REPRESENTATIVES} where is_model_input"
    )
    wide = long.pivot(index="segment_id", columns="feature_name", values="value_scaled")
    if any(feature not in wide.columns for feature in features) or wide.isna().any().any():
        return None
    return wide[list(features)]

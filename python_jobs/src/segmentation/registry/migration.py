"""What a retrain changes for the customers: the migration from the replaced model to the new
one on the same customers (both models scoring the training customers of the new version), and
the changes in words for the retrain's reason.

Between scoring runs, ``mon_segment_migration`` mixes two causes: customers whose own features
moved, and a new model. Scoring the same customers with both models isolates the second.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

# A previous segment "goes to" the new segment that receives at least this share of its
# customers; two previous segments going to the same new one are a merge.
MAJORITY = 0.5


def migration_rows(previous: np.ndarray, new: np.ndarray) -> list[dict[str, Any]]:
    """One row per (previous segment, new segment) pair holding customers: counts and shares of
    both sides. ``previous`` and ``new`` are the two models' segment ids per customer."""
    if previous.size == 0:
        return []
    pairs = pd.DataFrame({"from": previous.astype(np.int64), "to": new.astype(np.int64)})
    counts = pairs.value_counts().rename("customer_count").reset_index()
    from_totals = counts.groupby("from")["customer_count"].transform("sum")
    to_totals = counts.groupby("to")["customer_count"].transform("sum")
    counts = counts.assign(
        share_of_from_segment=counts["customer_count"] / from_totals,
        share_of_to_segment=counts["customer_count"] / to_totals,
    ).sort_values(["from", "to"], kind="stable")
    return [
        {
            "from_segment_id": int(row["from"]),
            "to_segment_id": int(row["to"]),
            "customer_count": int(row["customer_count"]),
            "share_of_from_segment": float(row["share_of_from_segment"]),
            "share_of_to_segment": float(row["share_of_to_segment"]),
        }
        for _, row in counts.iterrows()
    ]


def change_summary(lineage: Sequence[dict[str, Any]], migration: Sequence[dict[str, Any]]) -> str:
    """The retrain's changes in words: segments kept; retired ones absorbed (the majority of
    their customers in one new segment) or dissolved (where their customers went); merged (two
    or more previous segments whose majority went to one new segment); new ones (where their
    customers came from). Empty for a first model."""
    statuses = {int(row["segment_id"]): str(row["status"]) for row in lineage}
    if not migration or all(status == "first" for status in statuses.values()):
        return ""
    flows = pd.DataFrame(list(migration))
    parts = []
    kept = sorted(s for s, status in statuses.items() if status == "kept")
    if kept:
        parts.append("kept " + ", ".join(map(str, kept)))
    for segment in sorted(s for s, status in statuses.items() if status == "retired"):
        parts.append(_retired_text(flows, segment))
    for target, sources in sorted(_merges(flows).items()):
        parts.append("segments " + " and ".join(map(str, sources)) + f" merged into {target}")
    for segment in sorted(s for s, status in statuses.items() if status == "new"):
        parts.append(f"new segment {segment} ({_flows(flows, 'to', segment)})")
    return "segments: " + "; ".join(parts)


def _retired_text(flows: pd.DataFrame, segment: int) -> str:
    """A retired segment: absorbed (the majority of its customers in one new segment) or
    dissolved (spread over several)."""
    mine = flows[flows["from_segment_id"] == segment]
    top = mine.sort_values("share_of_from_segment", ascending=False).head(1)
    if len(top) and float(top["share_of_from_segment"].iloc[0]) >= MAJORITY:
        share, target = (
            float(top["share_of_from_segment"].iloc[0]),
            int(top["to_segment_id"].iloc[0]),
        )
        return f"segment {segment} absorbed into {target} ({share:.0%} of it)"
    return f"segment {segment} dissolved ({_flows(flows, 'from', segment)})"


def _flows(flows: pd.DataFrame, side: str, segment: int) -> str:
    """Where a previous segment's customers went (side "from"), or where a new segment's came
    from (side "to"), largest share first (at most three)."""
    if side == "from":
        other, share, words = "to", "share_of_from_segment", "to"
    else:
        other, share, words = "from", "share_of_to_segment", "from"
    rows = flows[flows[f"{side}_segment_id"] == segment].sort_values(share, ascending=False)
    return ", ".join(
        f"{words} {int(row[f'{other}_segment_id'])}: {row[share]:.0%}"
        for _, row in rows.head(3).iterrows()
    )


def _merges(flows: pd.DataFrame) -> dict[int, list[int]]:
    """New segments that took the majority of two or more previous segments."""
    majority = flows[flows["share_of_from_segment"] >= MAJORITY]
    merged: dict[int, list[int]] = {}
    for target, group in majority.groupby("to_segment_id"):
        sources = sorted(int(s) for s in group["from_segment_id"])
        if len(sources) > 1:
            merged[int(target)] = sources
    return merged

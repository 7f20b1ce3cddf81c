"""The migration from a replaced model to the new one, and the retrain's changes in words
(segmentation.registry.migration)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmentation.registry.migration import change_summary, migration_rows


def test_migration_counts_every_customer_once_with_shares_of_both_sides() -> None:
    previous = np.array([1, 1, 1, 2, 2, 3])
    new = np.array([1, 1, 4, 4, 4, 4])
    rows = pd.DataFrame(migration_rows(previous, new))
    assert rows["customer_count"].sum() == previous.size
    pairs = {(r.from_segment_id, r.to_segment_id): r for r in rows.itertuples()}
    assert set(pairs) == {(1, 1), (1, 4), (2, 4), (3, 4)}
    assert pairs[(1, 1)].customer_count == 2
    assert pairs[(1, 4)].share_of_from_segment == 1 / 3
    assert pairs[(2, 4)].share_of_to_segment == 2 / 4
    for side, share in (
        ("from_segment_id", "share_of_from_segment"),
        ("to_segment_id", "share_of_to_segment"),
    ):
        assert np.allclose(rows.groupby(side)[share].sum(), 1.0)


def lineage(**statuses: str) -> list[dict]:
    return [{"segment_id": int(s[1:]), "status": status} for s, status in statuses.items()]


def test_a_segment_spread_over_others_is_dissolved_and_a_new_one_says_where_it_came_from() -> None:
    previous = np.array([1] * 10 + [2] * 10 + [3] * 10)
    new = np.array([1] * 10 + [2] * 10 + [1] * 4 + [2] * 3 + [4] * 3)
    text = change_summary(
        lineage(s1="kept", s2="kept", s4="new", s3="retired"),
        migration_rows(previous, new),
    )
    assert text.startswith("segments: kept 1, 2; ")
    assert "segment 3 dissolved (to 1: 40%, to 2: 30%, to 4: 30%)" in text
    assert "new segment 4 (from 3: 100%)" in text


def test_two_segments_going_mostly_to_one_are_a_merge_and_an_absorbed_segment_is_named() -> None:
    previous = np.array([1] * 10 + [2] * 10 + [3] * 10)
    new = np.array([1] * 10 + [2] * 9 + [1] + [2] * 10)
    text = change_summary(
        lineage(s1="kept", s2="kept", s3="retired"), migration_rows(previous, new)
    )
    assert "segment 3 absorbed into 2 (100% of it)" in text
    assert "segments 2 and 3 merged into 2" in text


def test_a_first_model_has_no_changes_to_tell() -> None:
    ids = np.array([1, 2, 2])
    assert change_summary(lineage(s1="first", s2="first"), migration_rows(ids, ids)) == ""
    assert change_summary(lineage(s1="first"), []) == ""

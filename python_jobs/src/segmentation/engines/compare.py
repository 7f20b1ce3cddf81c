"""Comparing a table built on two engines, row by row and value by value.

Rows are matched on a key column. Numbers agree within a relative tolerance (1e-9 by default:
two engines may add the same floats in another order, never more); text, dates, timestamps and
booleans must be equal; NULL matches only NULL. The kind of each column (integer, float,
decimal, text, …) must agree too, so a share that one engine keeps as a rounded DECIMAL is
reported even where its values happen to match.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TOLERANCE = 1e-9
MAX_EXAMPLES = 3


@dataclass(frozen=True)
class Rows:
    """A table as read through an engine's client: column names and rows of Python values."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    @classmethod
    def from_cursor(
        cls, description: Sequence[Sequence[Any]], rows: Sequence[Sequence[Any]]
    ) -> Rows:
        return cls(tuple(str(column[0]).lower() for column in description), tuple(map(tuple, rows)))


@dataclass
class Comparison:
    """What differs between the reference and the other engine's table."""

    table: str
    reference_rows: int
    other_rows: int
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    kind_differences: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    missing_keys: list[Any] = field(default_factory=list)
    extra_keys: list[Any] = field(default_factory=list)
    value_differences: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (
            self.missing_columns
            or self.extra_columns
            or self.kind_differences
            or self.missing_keys
            or self.extra_keys
            or self.value_differences
        )

    def summary(self) -> str:
        """One line when equal, else one line per kind of difference."""
        if self.ok:
            return f"{self.table}: {self.reference_rows} rows equal in every column"
        lines = [f"{self.table}: differs ({self.reference_rows} rows, other {self.other_rows})"]
        if self.missing_columns or self.extra_columns:
            lines.append(f"  columns missing {self.missing_columns}, extra {self.extra_columns}")
        for column, (ours, theirs) in sorted(self.kind_differences.items()):
            lines.append(f"  {column}: {ours} on the reference, {theirs} on the other engine")
        if self.missing_keys or self.extra_keys:
            missing, extra = self.missing_keys, self.extra_keys
            lines.append(
                f"  keys missing {len(missing)} (e.g. {missing[:MAX_EXAMPLES]}),"
                f" extra {len(extra)} (e.g. {extra[:MAX_EXAMPLES]})"
            )
        for column, count in sorted(self.value_differences.items()):
            lines.append(
                f"  {column}: {count} rows differ, e.g. {'; '.join(self.examples[column])}"
            )
        return "\n".join(lines)


def value_kind(value: Any) -> str | None:
    """The kind of a value as the comparison sees it (None for NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, decimal.Decimal):
        return "decimal"
    if isinstance(value, dt.datetime):
        return "timestamp"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, str):
        return "text"
    return type(value).__name__


def values_equal(ours: Any, theirs: Any, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Equal, or for numbers within ``tolerance`` relative to the larger magnitude."""
    if ours is None or theirs is None:
        return ours is None and theirs is None
    if _is_number(ours) and _is_number(theirs):
        a, b = float(ours), float(theirs)
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(a - b) <= tolerance * max(abs(a), abs(b))
    return _normalised(ours) == _normalised(theirs)


def compare(
    table: str,
    reference: Rows,
    other: Rows,
    key: str,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Comparison:
    """Compare ``other`` with ``reference`` on the rows that share ``key``."""
    result = Comparison(table, len(reference.rows), len(other.rows))
    result.missing_columns = [c for c in reference.columns if c not in other.columns]
    result.extra_columns = [c for c in other.columns if c not in reference.columns]
    shared = [c for c in reference.columns if c in other.columns]
    ours_by_key = _by_key(reference, key)
    theirs_by_key = _by_key(other, key)
    result.missing_keys = sorted(set(ours_by_key) - set(theirs_by_key), key=str)
    result.extra_keys = sorted(set(theirs_by_key) - set(ours_by_key), key=str)
    for column in shared:
        ours_kind, theirs_kind = _column_kind(reference, column), _column_kind(other, column)
        if ours_kind and theirs_kind and ours_kind != theirs_kind:
            result.kind_differences[column] = (ours_kind, theirs_kind)
    for row_key in sorted(set(ours_by_key) & set(theirs_by_key), key=str):
        ours_row, theirs_row = ours_by_key[row_key], theirs_by_key[row_key]
        for column in shared:
            a, b = ours_row[column], theirs_row[column]
            if values_equal(a, b, tolerance):
                continue
            result.value_differences[column] = result.value_differences.get(column, 0) + 1
            examples = result.examples.setdefault(column, [])
            if len(examples) < MAX_EXAMPLES:
                examples.append(f"{key}={row_key}: {a!r} vs {b!r}")
    return result


def _by_key(table: Rows, key: str) -> dict[Any, dict[str, Any]]:
    position = table.columns.index(key)
    keyed: dict[Any, dict[str, Any]] = {}
    for row in table.rows:
        if row[position] in keyed:
            raise ValueError(f"key {key} = {row[position]!r} occurs more than once")
        keyed[row[position]] = dict(zip(table.columns, row, strict=True))
    return keyed


def _column_kind(table: Rows, column: str) -> str | None:
    position = table.columns.index(column)
    return next(
        (value_kind(row[position]) for row in table.rows if row[position] is not None), None
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def _normalised(value: Any) -> Any:
    """Timestamps with a zone as UTC wall-clock time; everything else as it is."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value

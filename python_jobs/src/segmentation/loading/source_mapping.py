"""Mappings of the optional inputs: which columns of a customer or engagement file mean what.

A customer attribute file has a customer id column, optionally an "as of" date column, and any
number of attribute columns (all other columns by default). Its mapping file (YAML or JSON)::

    columns: {customer_id: household_key, as_of_date: snapshot}   # as_of_date is optional
    attributes: {AGE_DESC: age_band, INCOME_DESC: income_band}    # column: name (default: all)
    numeric: [kids_count]        # attribute names forced numeric (default: inferred per file)
    categorical: [postcode]      # attribute names forced categorical
    missing_values: [Unknown]    # values that mean "not known": no row, never imputed

An engagement file has a customer id, a timestamp and an event type. Its mapping names which of
the user's event types mean each kind; ``other`` lists types kept and counted as other events.
A type the mapping does not name is rejected with its line::

    columns: {customer_id: user, occurred_at: ts, event_type: action}
    event_types: {session: [visit], view: [pdp_view], email_clicked: [click], other: [review]}
    date_format: "%d/%m/%Y %H:%M"

Without a mapping, columns are found by name (``customer_id``/``customer``/``client``, ``as_of``,
``occurred_at``/``timestamp``/``event_time``, ``event_type``/``event``) and every kind maps the
event type of its own name (``session``, ``view``, ``cart``, ``email_sent``, ``email_opened``,
``email_clicked``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segmentation.io.contract import ENGAGEMENT_KINDS, OTHER_EVENT_KIND
from segmentation.loading.errors import LoadError
from segmentation.loading.mapping import normalise_header, read_structured_file

CUSTOMERS = "customers"
ENGAGEMENT = "engagement"
SOURCE_NAMES: tuple[str, ...] = (CUSTOMERS, ENGAGEMENT)

# Field -> header names (normalised) that mean it when no mapping names the column.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": ("customerid", "customer", "clientid", "client", "householdkey", "userid"),
    "as_of_date": ("asofdate", "asof", "snapshotdate", "updatedat"),
    "occurred_at": ("occurredat", "timestamp", "eventtime", "eventat", "time", "datetime"),
    "event_type": ("eventtype", "event", "type", "action"),
}
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    CUSTOMERS: ("customer_id",),
    ENGAGEMENT: ("customer_id", "occurred_at", "event_type"),
}
OPTIONAL_FIELDS: dict[str, tuple[str, ...]] = {CUSTOMERS: ("as_of_date",), ENGAGEMENT: ()}
FILE_KEYS: dict[str, tuple[str, ...]] = {
    CUSTOMERS: (
        "columns",
        "attributes",
        "numeric",
        "categorical",
        "missing_values",
        "date_format",
        "encoding",
        "delimiter",
    ),
    ENGAGEMENT: ("columns", "event_types", "date_format", "encoding", "delimiter"),
}
NUMERIC = "numeric"
CATEGORICAL = "categorical"


@dataclass(frozen=True)
class SourceMapping:
    """What a mapping file says about one optional input (defaults: detect everything)."""

    source_name: str
    columns: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    missing_values: tuple[str, ...] = ()
    event_types: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None

    def event_kind_map(self) -> dict[str, str]:
        """User event type -> kind; the kinds' own names when the mapping names none."""
        return dict(self.event_types) or {kind: kind for kind in ENGAGEMENT_KINDS}


def read_source_mapping(source_name: str, path: Path | None) -> SourceMapping:
    """The mapping of ``source_name`` from a YAML/JSON file, or the defaults without one."""
    if source_name not in SOURCE_NAMES:
        raise LoadError(f"unknown source {source_name!r}; expected one of {SOURCE_NAMES}")
    if path is None:
        return SourceMapping(source_name)
    content = read_structured_file(path)
    return mapping_from_dict(source_name, content, path.as_posix())


def mapping_from_dict(source_name: str, content: Any, where: str) -> SourceMapping:
    """Check a parsed mapping file of ``source_name``."""
    if not isinstance(content, dict):
        raise LoadError(f"{where}: a mapping file must hold a mapping (e.g. a 'columns' key)")
    unknown = sorted(set(content) - set(FILE_KEYS[source_name]))
    if unknown:
        allowed = ", ".join(FILE_KEYS[source_name])
        raise LoadError(f"{where}: unknown keys {', '.join(unknown)}; allowed: {allowed}")
    fields = REQUIRED_FIELDS[source_name] + OPTIONAL_FIELDS[source_name]
    columns = _text_dict(content.get("columns"), "columns", where)
    bad = sorted(set(columns) - set(fields))
    if bad:
        raise LoadError(f"{where}: unknown fields {', '.join(bad)}; fields: {', '.join(fields)}")
    for key in ("date_format", "encoding", "delimiter"):
        if content.get(key) is not None and not isinstance(content[key], str):
            raise LoadError(f"{where}: '{key}' must be a text value")
    return SourceMapping(
        source_name=source_name,
        columns=columns,
        attributes=_attributes(content.get("attributes"), where),
        numeric=_text_list(content.get("numeric"), "numeric", where),
        categorical=_text_list(content.get("categorical"), "categorical", where),
        missing_values=_text_list(content.get("missing_values"), "missing_values", where),
        event_types=_event_types(content.get("event_types"), where),
        date_format=content.get("date_format"),
        encoding=content.get("encoding"),
        delimiter=content.get("delimiter"),
    )


def resolve_source_columns(
    mapping: SourceMapping, header: Sequence[str], where: str
) -> tuple[dict[str, str], dict[str, str]]:
    """(field -> column, attribute column -> attribute name) for a file with ``header``.

    Mapped columns must exist; unmapped fields are found by name. Attributes are the mapped
    ones, or every column that is no field.
    """
    by_normal = {normalise_header(name): name for name in header}
    resolved: dict[str, str] = {}
    fields = REQUIRED_FIELDS[mapping.source_name] + OPTIONAL_FIELDS[mapping.source_name]
    for name in fields:
        column = mapping.columns.get(name)
        if column is not None:
            if column not in header:
                raise LoadError(
                    f"{where}: the mapping names column {column!r} for {name}, "
                    f"but the file has only {', '.join(header)}"
                )
            resolved[name] = column
            continue
        found = next((by_normal[a] for a in FIELD_ALIASES[name] if a in by_normal), None)
        if found is not None:
            resolved[name] = found
    missing = [name for name in REQUIRED_FIELDS[mapping.source_name] if name not in resolved]
    if missing:
        raise LoadError(
            f"{where}: no column for {', '.join(missing)} (columns: {', '.join(header)}); "
            "name it in a mapping file (--mapping)"
        )
    if mapping.source_name != CUSTOMERS:
        return resolved, {}
    return resolved, _attribute_columns(mapping, header, set(resolved.values()), where)


def _attribute_columns(
    mapping: SourceMapping, header: Sequence[str], taken: set[str], where: str
) -> dict[str, str]:
    if mapping.attributes:
        absent = [c for c in mapping.attributes if c not in header]
        if absent:
            raise LoadError(f"{where}: attribute columns {', '.join(absent)} are not in the file")
        return dict(mapping.attributes)
    attributes = {c: _attribute_name(c) for c in header if c not in taken}
    if not attributes:
        raise LoadError(f"{where}: the file has no attribute column besides the customer id")
    return attributes


def _attribute_name(column: str) -> str:
    """A column name as an attribute name: lower case words joined by underscores."""
    words = "".join(ch.lower() if ch.isalnum() else " " for ch in column).split()
    return "_".join(words) or "attribute"


def _text_dict(value: Any, key: str, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str | int) for v in value.values()):
        raise LoadError(f"{where}: '{key}' must map names to column names")
    return {str(k): str(v) for k, v in value.items()}


def _text_list(value: Any, key: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise LoadError(f"{where}: '{key}' must be a list of names")
    return tuple(str(v) for v in value)


def _attributes(value: Any, where: str) -> dict[str, str]:
    """``attributes`` as column -> name: a list keeps the columns' own (cleaned) names."""
    if value is None:
        return {}
    if isinstance(value, list):
        return {str(c): _attribute_name(str(c)) for c in value}
    return {
        column: _attribute_name(name)
        for column, name in _text_dict(value, "attributes", where).items()
    }


def _event_types(value: Any, where: str) -> dict[str, str]:
    """``event_types`` (kind -> the user's types) as user type -> kind."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LoadError(f"{where}: 'event_types' must map kinds to lists of your event types")
    kinds = (*ENGAGEMENT_KINDS, OTHER_EVENT_KIND)
    unknown = sorted(set(map(str, value)) - set(kinds))
    if unknown:
        raise LoadError(
            f"{where}: unknown event kinds {', '.join(unknown)}; kinds: {', '.join(kinds)}"
        )
    by_type: dict[str, str] = {}
    for kind, types in value.items():
        for event_type in _text_list(types, f"event_types.{kind}", where):
            if event_type in by_type and by_type[event_type] != kind:
                raise LoadError(
                    f"{where}: event type {event_type!r} is mapped to both "
                    f"{by_type[event_type]} and {kind}"
                )
            by_type[event_type] = str(kind)
    return by_type

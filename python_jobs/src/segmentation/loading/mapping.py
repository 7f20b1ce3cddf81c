"""Column layouts: which column of a file feeds which field of the input contract.

Two layouts are known by name: the UCI "Online Retail" log (``uci``) and "Online Retail II"
(``uci2``); a file whose header has their columns is recognised without help. Any other log
needs a :class:`ColumnMapping`, given as a YAML or JSON file (``--mapping``, see
``python_jobs/examples/mapping_example.yml``) and/or as ``--column FIELD=COLUMN`` flags.

In a user's mapping only ``customer_id``, ``invoiced_at``, ``quantity`` and one amount field are
required. The amount is either ``unit_price`` or ``line_total`` (then the unit price is the
line total divided by the quantity). ``invoice_id``, ``stock_code``, ``description`` and
``country`` may be left out: an absent invoice id is synthesised (one order per customer and
timestamp) and the features that need the others are turned off downstream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segmentation.loading.errors import LoadError

# Fields a mapping may name, in contract order (``line_total`` is the alternative amount).
MAPPABLE_FIELDS: tuple[str, ...] = (
    "invoice_id",
    "stock_code",
    "description",
    "quantity",
    "unit_price",
    "line_total",
    "invoiced_at",
    "customer_id",
    "country",
)
REQUIRED_FIELDS: tuple[str, ...] = ("customer_id", "invoiced_at", "quantity")
AMOUNT_FIELDS: tuple[str, ...] = ("unit_price", "line_total")
# Optional field -> the capability recorded in raw.input_capabilities.
OPTIONAL_CAPABILITIES: dict[str, str] = {
    "invoice_id": "has_invoice_id",
    "stock_code": "has_stock_code",
    "description": "has_description",
    "country": "has_country",
}
MAPPING_FILE_KEYS: tuple[str, ...] = ("columns", "date_format", "encoding", "delimiter")


@dataclass(frozen=True)
class ColumnMapping:
    """Contract field -> source column name, for one layout.

    ``strict`` layouts (the UCI ones) need every listed column; a user's mapping needs only the
    required fields and the columns it names.
    """

    name: str
    columns: Mapping[str, str]
    strict: bool = False

    @property
    def amount_field(self) -> str:
        """``unit_price`` or ``line_total``: how the amount is given."""
        return "line_total" if "line_total" in self.columns else "unit_price"

    def has(self, field_name: str) -> bool:
        """Whether the layout provides ``field_name``."""
        return field_name in self.columns


UCI = ColumnMapping(
    "uci",
    {
        "invoice_id": "InvoiceNo",
        "stock_code": "StockCode",
        "description": "Description",
        "quantity": "Quantity",
        "invoiced_at": "InvoiceDate",
        "unit_price": "UnitPrice",
        "customer_id": "CustomerID",
        "country": "Country",
    },
    strict=True,
)
UCI2 = ColumnMapping(
    "uci2",
    {
        "invoice_id": "Invoice",
        "stock_code": "StockCode",
        "description": "Description",
        "quantity": "Quantity",
        "invoiced_at": "InvoiceDate",
        "unit_price": "Price",
        "customer_id": "Customer ID",
        "country": "Country",
    },
    strict=True,
)
LAYOUTS: dict[str, ColumnMapping] = {"uci": UCI, "uci2": UCI2}
LAYOUT_TITLES: dict[str, str] = {
    "uci": "UCI Online Retail",
    "uci2": "UCI Online Retail II",
    "mapping": "column mapping",
}


@dataclass(frozen=True)
class MappingSettings:
    """Everything a mapping file can state; flags on the command line override it."""

    columns: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    source: str = "flags"


def normalise_header(name: str) -> str:
    """A column name reduced for lenient matching: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", name.strip().lower())


def read_mapping_file(path: Path) -> MappingSettings:
    """Read a YAML (``.yml``/``.yaml``) or JSON mapping file and check its shape."""
    return settings_from_dict(read_structured_file(path), source=path.as_posix())


def read_structured_file(path: Path) -> Any:
    """The parsed content of a YAML or JSON mapping file (JSON by its ``.json`` suffix)."""
    if not path.is_file():
        raise LoadError(f"{path.as_posix()}: mapping file not found")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        import yaml  # installed with dbt-core

        return yaml.safe_load(text)
    except (ValueError, ImportError) as error:
        raise LoadError(f"{path.as_posix()}: cannot read the mapping file: {error}") from error
    except Exception as error:  # yaml.YAMLError has no common base to import lazily
        raise LoadError(f"{path.as_posix()}: cannot read the mapping file: {error}") from error


def settings_from_dict(content: Any, source: str) -> MappingSettings:
    """Check a parsed mapping file (``{columns: {...}, date_format: ..., ...}``)."""
    if not isinstance(content, dict):
        raise LoadError(f"{source}: a mapping file must hold a mapping with a 'columns' key")
    unknown = sorted(set(content) - set(MAPPING_FILE_KEYS))
    if unknown:
        raise LoadError(
            f"{source}: unknown keys {', '.join(unknown)}; allowed: {', '.join(MAPPING_FILE_KEYS)}"
        )
    columns = content.get("columns") or {}
    if not isinstance(columns, dict):
        raise LoadError(f"{source}: 'columns' must map contract fields to column names")
    for key in ("date_format", "encoding", "delimiter"):
        if content.get(key) is not None and not isinstance(content[key], str):
            raise LoadError(f"{source}: '{key}' must be a text value")
    checked = _check_columns({str(k): v for k, v in columns.items()}, source)
    return MappingSettings(
        columns=checked,
        date_format=content.get("date_format"),
        encoding=content.get("encoding"),
        delimiter=content.get("delimiter"),
        source=source,
    )


def parse_column_flags(flags: Sequence[str]) -> dict[str, str]:
    """``["quantity=Qty", ...]`` (from ``--column``) as a field -> column dict."""
    columns: dict[str, str] = {}
    for flag in flags:
        field_name, sep, column = flag.partition("=")
        if not sep or not field_name.strip() or not column.strip():
            raise LoadError(f"--column {flag!r}: expected FIELD=COLUMN, e.g. quantity=Qty")
        columns[field_name.strip()] = column.strip()
    return _check_columns(columns, "--column")


def _check_columns(columns: dict[str, Any], source: str) -> dict[str, str]:
    unknown = sorted(set(columns) - set(MAPPABLE_FIELDS))
    if unknown:
        raise LoadError(
            f"{source}: unknown fields {', '.join(unknown)}; "
            f"fields are {', '.join(MAPPABLE_FIELDS)}"
        )
    checked: dict[str, str] = {}
    for field_name, column in columns.items():
        if column is None:
            continue
        if not isinstance(column, str | int) or not str(column).strip():
            raise LoadError(f"{source}: field {field_name!r} must name a column")
        checked[field_name] = str(column).strip()
    return checked


def build_mapping(settings: MappingSettings, flag_columns: Mapping[str, str]) -> ColumnMapping:
    """Merge a mapping file's columns with ``--column`` flags (flags win) and validate."""
    columns = dict(settings.columns)
    for field_name, column in _check_columns(dict(flag_columns), "--column").items():
        if field_name in AMOUNT_FIELDS:
            for other in AMOUNT_FIELDS:
                columns.pop(other, None)
        columns[field_name] = column
    missing = [f for f in REQUIRED_FIELDS if f not in columns]
    amounts = [f for f in AMOUNT_FIELDS if f in columns]
    problems = []
    if missing:
        problems.append(f"required fields not mapped: {', '.join(missing)}")
    if not amounts:
        problems.append("map either unit_price or line_total")
    if len(amounts) > 1:
        problems.append("map unit_price or line_total, not both")
    if problems:
        raise LoadError(f"column mapping ({settings.source}): {'; '.join(problems)}")
    ordered = {f: columns[f] for f in MAPPABLE_FIELDS if f in columns}
    return ColumnMapping("mapping", ordered)


def detect_layout(columns: Sequence[str]) -> ColumnMapping | None:
    """The known layout whose columns best match a header (at least 5 of 8), else None."""
    found = {normalise_header(c) for c in columns}
    best: ColumnMapping | None = None
    best_score = 0
    for layout in LAYOUTS.values():
        score = sum(normalise_header(c) in found for c in layout.columns.values())
        if score > best_score:
            best, best_score = layout, score
    return best if best_score >= 5 else None


def resolve_columns(mapping: ColumnMapping, columns: Sequence[str], where: str) -> dict[str, str]:
    """Field -> the file's actual column name; a clear error when a column is missing.

    Names match exactly, else ignoring case, spaces and punctuation (``Customer ID`` matches
    ``CustomerID``) when that match is unique.
    """
    by_norm: dict[str, list[str]] = {}
    for column in columns:
        by_norm.setdefault(normalise_header(column), []).append(column)
    resolved: dict[str, str] = {}
    missing: list[tuple[str, str]] = []
    for field_name, wanted in mapping.columns.items():
        if wanted in columns:
            resolved[field_name] = wanted
            continue
        candidates = by_norm.get(normalise_header(wanted), [])
        if len(candidates) == 1:
            resolved[field_name] = candidates[0]
        else:
            missing.append((field_name, wanted))
    if missing:
        found = ", ".join(repr(c) for c in columns) or "(none)"
        if mapping.strict:
            names = ", ".join(repr(wanted) for _, wanted in missing)
            title = LAYOUT_TITLES[mapping.name]
            raise LoadError(
                f"{where}: missing required columns {names} of the {title} layout; "
                f"columns found: {found}"
            )
        pairs = "; ".join(f"{f} -> {wanted!r}" for f, wanted in missing)
        raise LoadError(
            f"{where}: the column mapping names columns that are not in the file ({pairs}); "
            f"columns found: {found}"
        )
    return resolved


def unrecognised_header_error(columns: Sequence[str], where: str) -> LoadError:
    """The error for a header that matches no known layout when no mapping was given."""
    found = ", ".join(repr(c) for c in columns) or "(none)"
    uci = ", ".join(UCI.columns.values())
    uci2 = ", ".join(UCI2.columns.values())
    return LoadError(
        f"{where}: the columns are not a known layout; columns found: {found}. "
        f"Expected UCI Online Retail ({uci}) or Online Retail II ({uci2}), "
        "or give a column mapping with --mapping FILE or --column FIELD=COLUMN"
    )

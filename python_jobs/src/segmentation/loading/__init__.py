"""Loading real transaction logs (files) into the raw input contract.

Supported: the UCI Online Retail log in both published shapes (``uci``: InvoiceNo, …,
UnitPrice, CustomerID; ``uci2``: Invoice, …, Price, Customer ID) as CSV, Excel workbooks
(every sheet) or folders of files; and any CSV, Excel or Parquet log with a column mapping.
Loads are incremental and idempotent (``raw.load_log``), keep every row they cannot load in
``raw.rejected_rows`` with its reason, and record which optional inputs the data lacks in
``raw.input_capabilities``. Entry point: :func:`load_path`; CLI: ``segmentation load``.

The optional inputs beside the log (customer attributes, engagement events) load the same way
through :func:`load_source` (``segmentation load --source customers|engagement``).
"""

from segmentation.loading.errors import LoadError
from segmentation.loading.formats import FORMAT_CHOICES
from segmentation.loading.loader import LoadOptions, LoadReport, UnitResult, load_path
from segmentation.loading.log import ensure_load_tables, refresh_input_capabilities
from segmentation.loading.mapping import (
    MAPPABLE_FIELDS,
    ColumnMapping,
    parse_column_flags,
    read_mapping_file,
)
from segmentation.loading.sources import SourceOptions, SourceReport, load_source

__all__ = [
    "FORMAT_CHOICES",
    "MAPPABLE_FIELDS",
    "ColumnMapping",
    "LoadError",
    "LoadOptions",
    "LoadReport",
    "SourceOptions",
    "SourceReport",
    "UnitResult",
    "ensure_load_tables",
    "load_path",
    "load_source",
    "parse_column_flags",
    "read_mapping_file",
    "refresh_input_capabilities",
]

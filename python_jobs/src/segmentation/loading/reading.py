"""Reading files into DuckDB, one temp table (or view) per file, per sheet for Excel.

CSV and Excel values are kept as text (VARCHAR) exactly as written, Parquet values with their
own types; parsing and validation happen later in SQL (:mod:`segmentation.loading.parsing`).
Each staged table knows how to number its data rows (1-based, header excluded) so every
loaded or rejected row can be traced to its file.

- CSV is read by DuckDB's ``read_csv`` with the columns taken from the header line, so no
  type sniffing is involved. Lines the reader cannot split (too many or too few fields, an
  unterminated quote) are collected as malformed lines with DuckDB's reason, not dropped.
  Text that is not UTF-8 is first re-encoded to a UTF-8 copy in a temporary folder.
- Parquet is read by ``read_parquet`` (row numbers from ``file_row_number``) through a view:
  its columns keep their types, and typed values that already fit the contract are not
  turned into text (see :mod:`segmentation.loading.parsing`).
- Excel workbooks are read with openpyxl, every non-empty sheet being one unit.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import duckdb
import pyarrow as pa

from segmentation.loading.errors import LoadError
from segmentation.loading.formats import FileFacts, SourceFile
from segmentation.loading.progress import Progress

DELIMITER_CANDIDATES: tuple[str, ...] = (",", ";", "\t", "|")
HEADER_BYTES = 1 << 16
REJECT_ERRORS = "_load_csv_reject_errors"
REJECT_SCANS = "_load_csv_reject_scans"
EXCEL_PROGRESS_ROWS = 20_000


@dataclass(frozen=True)
class MalformedLine:
    """A CSV line the reader could not split into the header's columns."""

    source_row: int
    raw_line: str
    reason: str


@dataclass
class StagedTable:
    """One unit (file, or sheet of a workbook) staged in a temp table (a view for Parquet).

    ``row_expr`` is the SQL expression, over ``table``, giving the 1-based data row number;
    ``malformed`` are the rows the reader could not split, kept to be rejected with a reason.
    """

    source_file: str
    file: SourceFile
    sheet: str | None
    table: str
    columns: list[str]
    row_expr: str
    rows_staged: int
    malformed: list[MalformedLine] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        """Data rows found in the unit: staged plus malformed."""
        return self.rows_staged + len(self.malformed)


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """``value`` as a single-quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def clean_header(names: list[object]) -> list[str]:
    """Header cells as unique column names: trimmed, blank ones ``column<n>``, repeats suffixed."""
    result: list[str] = []
    seen: set[str] = set()
    for position, raw in enumerate(names, start=1):
        name = "" if raw is None else str(raw).strip().lstrip("\ufeff").strip()
        name = name or f"column{position}"
        candidate, suffix = name, 2
        while candidate in seen:
            candidate, suffix = f"{name}_{suffix}", suffix + 1
        seen.add(candidate)
        result.append(candidate)
    return result


# --------------------------------------------------------------------------------------- CSV


def read_header(path: Path, delimiter: str | None, name: str) -> tuple[list[str], str]:
    """The column names of a UTF-8 CSV file and its delimiter (given, or the one that splits
    the header line into the most fields)."""
    with path.open("rb") as handle:
        head = handle.read(HEADER_BYTES).decode("utf-8-sig", errors="replace")
    first_line = head.splitlines()[0] if head.strip() else ""
    if not first_line.strip():
        raise LoadError(f"{name}: the file is empty (no header line)")
    if delimiter is None:
        counts = {d: len(_split_line(first_line, d)) for d in DELIMITER_CANDIDATES}
        delimiter = max(DELIMITER_CANDIDATES, key=lambda d: (counts[d], d == ","))
    if len(delimiter) != 1:
        raise LoadError(f"delimiter must be one character, got {delimiter!r}")
    return clean_header(list(_split_line(first_line, delimiter))), delimiter


def _split_line(line: str, delimiter: str) -> list[str]:
    return next(csv.reader(io.StringIO(line), delimiter=delimiter, quotechar='"'), [])


def transcode_to_utf8(source: SourceFile, encoding: str, workdir: Path, index: int) -> Path:
    """A UTF-8 copy of a text file in another encoding (DuckDB reads UTF-8 only)."""
    target = workdir / f"{index:06d}.csv"
    with (
        source.path.open("r", encoding=encoding, newline="") as reader,
        target.open("w", encoding="utf-8", newline="") as writer,
    ):
        while chunk := reader.read(1 << 20):
            writer.write(chunk)
    return target


def stage_csv(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    facts: FileFacts,
    table: str,
    delimiter: str | None,
    workdir: Path,
    index: int,
) -> StagedTable:
    """Stage a CSV file in temp table ``table`` (all columns VARCHAR, in file order)."""
    path = source.path
    if facts.encoding not in (None, "utf-8"):
        path = transcode_to_utf8(source, facts.encoding, workdir, index)
    columns, delimiter = read_header(path, delimiter, source.name)
    spec = ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in columns)
    options = (
        f"columns = {{{spec}}}, header = true, auto_detect = false, "
        f"delim = {quote_literal(delimiter)}, quote = '\"', escape = '\"', "
        "ignore_errors = true, store_rejects = true, "
        f"rejects_table = '{REJECT_ERRORS}', rejects_scan = '{REJECT_SCANS}'"
    )
    try:
        con.execute(
            f"create temp table {table} as select * from read_csv(?, {options})", [str(path)]
        )
    except duckdb.Error as error:
        raise LoadError(f"{source.name}: cannot read the CSV file: {error}") from error
    rows = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    rejected = con.execute(
        f"""
        select line - 1 as source_row,
            string_agg(distinct csv_line, ' ') as raw_line,
            string_agg(distinct error_message, '; ') as reason
        from {REJECT_ERRORS}
        group by line
        order by line
        """
    ).fetchall()
    con.execute(f"drop table if exists {REJECT_ERRORS}")
    con.execute(f"drop table if exists {REJECT_SCANS}")
    malformed = [
        MalformedLine(int(row), (raw or "").rstrip("\r\n"), f"malformed CSV line: {reason}")
        for row, raw, reason in rejected
    ]
    # Rows keep file order; a temp table's row ids are consecutive but need not start at 0.
    base = con.execute(f"select coalesce(min(rowid), 0) from {table}").fetchall()[0][0]
    row_expr = f"(rowid - {base} + 1)"
    if malformed:
        row_expr = _renumber_around(con, table, base, rows, [m.source_row for m in malformed])
    return StagedTable(source.name, source, None, table, columns, row_expr, rows, malformed)


def _renumber_around(
    con: duckdb.DuckDBPyConnection, table: str, base: int, rows: int, rejected_rows: list[int]
) -> str:
    """Give the staged rows of a file that had malformed lines their own data row numbers.

    The reader numbers malformed lines; the staged rows are the remaining numbers, in order.
    (Blank lines are skipped by the reader: row numbers count data lines only, so they are
    exact unless a file has blank lines before a malformed one.)
    """
    con.execute(f"alter table {table} add column _source_row bigint")
    con.execute(
        f"""
        update {table} set _source_row = numbered.source_row
        from (
            select row_number() over (order by n) - 1 as k, n as source_row
            from range(1, ? + 1) as candidates(n)
            where n not in (select unnest(?::bigint[]))
        ) as numbered
        where {table}.rowid - {base} = numbered.k
        """,
        [rows + len(rejected_rows) + max(rejected_rows), rejected_rows],
    )
    return "_source_row"


# ----------------------------------------------------------------------------------- Parquet


def stage_parquet(con: duckdb.DuckDBPyConnection, source: SourceFile, table: str) -> StagedTable:
    """Stage a Parquet file as a temp view over the file, with its own column types.

    Parquet is already columnar and typed, so it is not copied here: the stage reads it
    where it lies, or copies it when small (see :func:`segmentation.loading.parsing.stage_unit`),
    and rejected rows read their raw values from it again. Only the footer is read now:
    damaged data pages surface when the stage is read.
    """
    try:
        con.execute(
            f"create temp view {table} as select * from "
            f"read_parquet({quote_literal(str(source.path))}, file_row_number = true)"
        )
        described = con.execute(f"select * from {table} limit 0").description
        rows = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    except duckdb.Error as error:
        raise LoadError(f"{source.name}: cannot read the Parquet file: {error}") from error
    columns = [d[0] for d in described if d[0] != "file_row_number"]
    return StagedTable(source.name, source, None, table, columns, "file_row_number + 1", rows)


# ------------------------------------------------------------------------------------- Excel


def cell_text(value: object) -> str | None:
    """An Excel cell value as the text a CSV export would hold.

    Whole numbers lose the ``.0`` Excel stores them with (customer 17850, not 17850.0) and
    dates become ISO timestamps.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def stage_excel(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    table_prefix: str,
    show_progress: bool = True,
    stream: TextIO | None = None,
) -> list[StagedTable]:
    """Stage every non-empty sheet of a workbook, one temp table per sheet."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(source.path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for broken workbooks
        raise LoadError(f"{source.name}: cannot read the Excel workbook: {error}") from error
    try:
        # Known when the workbook records its dimensions (Excel does); else only counted.
        sizes = [sheet.max_row for sheet in workbook.worksheets]
        total_rows = sum(sizes) if all(sizes) else None
        progress = Progress(
            total_rows, f"reading {source.name}, rows", stream=stream, enabled=show_progress
        )
        staged: list[StagedTable] = []
        for number, sheet in enumerate(workbook.worksheets):
            table = f"{table_prefix}_{number}"
            unit = _stage_sheet(con, source, sheet, table, progress)
            if unit is not None:
                staged.append(unit)
        progress.finish()
    finally:
        workbook.close()
    if not staged:
        raise LoadError(f"{source.name}: the file is empty (no sheet holds any data)")
    return staged


def _stage_sheet(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    sheet: object,
    table: str,
    progress: Progress,
) -> StagedTable | None:
    """Stage one worksheet; ``None`` when it has no non-empty row."""
    rows = sheet.iter_rows(values_only=True)  # type: ignore[attr-defined]
    header_row = 0
    header: list[str] = []
    for values in rows:
        header_row += 1
        progress.advance(1)
        if any(v is not None for v in values):
            width = max(i for i, v in enumerate(values) if v is not None) + 1
            header = clean_header(list(values[:width]))
            break
    if not header:
        return None
    name = f"{source.name}#{sheet.title}"  # type: ignore[attr-defined]
    data: list[list[str | None]] = [[] for _ in header]
    row_numbers: list[int] = []
    malformed: list[MalformedLine] = []
    pending = 0
    for excel_row, values in enumerate(rows, start=header_row + 1):
        pending += 1
        if pending >= EXCEL_PROGRESS_ROWS:
            progress.advance(pending)
            pending = 0
        if all(v is None for v in values):
            continue
        source_row = excel_row - header_row
        extra = [v for v in values[len(header) :] if v is not None]
        if extra:
            raw = ",".join("" if v is None else str(cell_text(v)) for v in values)
            malformed.append(MalformedLine(source_row, raw, "value beyond the last header column"))
            continue
        for position in range(len(header)):
            value = values[position] if position < len(values) else None
            data[position].append(cell_text(value))
        row_numbers.append(source_row)
    progress.advance(pending)
    arrays = {
        column: pa.array(values, pa.string()) for column, values in zip(header, data, strict=True)
    }
    arrays["_source_row"] = pa.array(row_numbers, pa.int64())
    view = f"{table}_arrow"
    con.register(view, pa.table(arrays))
    try:
        con.execute(f"create temp table {table} as select * from {view}")
    finally:
        con.unregister(view)
    return StagedTable(
        name,
        source,
        sheet.title,
        table,
        header,
        "_source_row",
        len(row_numbers),
        malformed,  # type: ignore[attr-defined]
    )

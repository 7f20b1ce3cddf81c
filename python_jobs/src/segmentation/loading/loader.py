"""Loading a file or folder of transaction lines into the input contract, in one transaction.

:func:`load_path` is the whole load: find the files, check their bytes, decide which are new
(a file already loaded with the same content is skipped; one whose content changed is an error
unless ``replace_changed``), stage them, parse and validate in SQL, then write
``raw.transactions``, ``raw.rejected_rows``, ``raw.load_log`` and ``raw.input_capabilities``.
Either all of it is committed or, on any error, none of it.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import duckdb

from segmentation.io.contract import (
    ARCHETYPES_TABLE,
    CUSTOMER_ATTRIBUTES_TABLE,
    DEMO_SOURCE_PREFIX,
    ENGAGEMENT_EVENTS_TABLE,
    TRANSACTION_COLUMNS,
    TRANSACTIONS_TABLE,
)
from segmentation.io.warehouse import ensure_raw_tables
from segmentation.loading import parsing
from segmentation.loading.errors import LoadError
from segmentation.loading.formats import (
    LAYOUT_FORMATS,
    FileFacts,
    SourceFile,
    discover_files,
    display_name,
    inspect_file,
)
from segmentation.loading.log import (
    LOAD_LOG_COLUMNS,
    LOAD_LOG_TABLE,
    REJECTED_ROWS_TABLE,
    LoggedFile,
    current_files,
    drop_work_tables,
    ensure_load_tables,
    foreign_row_sources,
    missing_capability_notes,
    previous_date_orders,
    qualified,
    reason_summary,
    refresh_input_capabilities,
    retire_file,
)
from segmentation.loading.mapping import (
    LAYOUTS,
    OPTIONAL_CAPABILITIES,
    ColumnMapping,
    MappingSettings,
    build_mapping,
    detect_layout,
    read_mapping_file,
    resolve_columns,
    unrecognised_header_error,
)
from segmentation.loading.progress import Progress
from segmentation.loading.reading import StagedTable, stage_csv, stage_excel, stage_parquet

REASON_KINDS_SHOWN = 5


@dataclass(frozen=True)
class LoadOptions:
    """How to read the files of a load (the ``segmentation load`` options).

    ``fmt`` is one of :data:`~segmentation.loading.formats.FORMAT_CHOICES` (None: detect);
    ``columns`` are ``--column FIELD=COLUMN`` pairs, merged over ``mapping_file``. Options
    given here win over the same settings in the mapping file.
    """

    fmt: str | None = None
    mapping_file: Path | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    date_format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    replace_changed: bool = False
    replace_demo: bool = False
    show_progress: bool = True


@dataclass(frozen=True)
class UnitResult:
    """Row counts of one loaded unit (a file, or one sheet of a workbook)."""

    source_file: str
    file_path: str
    layout: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    replaced: bool = False


@dataclass
class LoadReport:
    """What a load did: units loaded, files skipped or ignored, notes and rejection reasons."""

    load_id: str
    units: list[UnitResult] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reasons: list[tuple[str, int, str]] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        return sum(u.rows_read for u in self.units)

    @property
    def rows_loaded(self) -> int:
        return sum(u.rows_loaded for u in self.units)

    @property
    def rows_rejected(self) -> int:
        return sum(u.rows_rejected for u in self.units)

    @property
    def files_loaded(self) -> int:
        return len({u.file_path for u in self.units})


@dataclass
class _PlannedFile:
    source: SourceFile
    facts: FileFacts
    replaces: LoggedFile | None = None


@dataclass
class _Unit:
    index: int
    staged: StagedTable
    planned: _PlannedFile
    mapping: ColumnMapping
    resolved: dict[str, str]


def new_load_id() -> str:
    """A unique, time-ordered load id, e.g. ``20240131T101500-1a2b3c4d``."""
    now = dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def load_path(
    con: duckdb.DuckDBPyConnection,
    path: Path | str,
    options: LoadOptions | None = None,
    stream: TextIO | None = None,
    select: Callable[[Path], bool] | None = None,
) -> LoadReport:
    """Load the file or folder ``path`` into the raw tables of ``con``, all or nothing.

    ``select`` keeps only the files of a folder it returns true for (e.g. the daily files up to
    a month end, for ``segmentation replay``); the others are left for a later load.

    Raises :class:`LoadError` (and writes nothing) for a missing path, an empty or mislabelled
    file, missing columns, a bad mapping, ambiguous dates, a changed file (unless
    ``options.replace_changed``) or a load in which every row was rejected.
    """
    options = options or LoadOptions()
    started = time.perf_counter()
    settings = read_mapping_file(options.mapping_file) if options.mapping_file else None
    mapping = _user_mapping(settings, options)
    date_format = options.date_format or (settings.date_format if settings else None)
    encoding = options.encoding or (settings.encoding if settings else None)
    delimiter = options.delimiter or (settings.delimiter if settings else None)
    container_format = options.fmt if options.fmt not in LAYOUT_FORMATS else None
    files, ignored = discover_files(Path(path), container_format)
    if select is not None:
        files = [source for source in files if select(source.path)]
        if not files:
            raise LoadError(f"{display_name(Path(path))}: no file is selected for this load")
    inspected = [(source, inspect_file(source, encoding)) for source in files]

    report = LoadReport(load_id=new_load_id(), ignored=ignored)
    # DuckDB's own bar would interleave with ours; restored afterwards.
    bar_was_on = con.execute("select current_setting('enable_progress_bar')").fetchall()[0][0]
    con.execute("set enable_progress_bar = false")
    con.execute("begin transaction")
    try:
        ensure_raw_tables(con)
        ensure_load_tables(con)
        if options.replace_demo:
            _remove_demo_rows(con, report)
        _refuse_foreign_rows(con)
        planned = _plan(con, inspected, options.replace_changed, report)
        if planned:
            _load_planned(con, planned, mapping, options, date_format, delimiter, report, stream)
        capabilities = refresh_input_capabilities(con)
        report.notes.extend(missing_capability_notes(capabilities))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        drop_work_tables(con, "_load_")
        con.execute(f"set enable_progress_bar = {str(bool(bar_was_on)).lower()}")
    report.elapsed_seconds = time.perf_counter() - started
    return report


def _user_mapping(settings: MappingSettings | None, options: LoadOptions) -> ColumnMapping | None:
    """The user's column mapping (file and flags), or None to use a known layout."""
    if settings is None and not options.columns:
        return LAYOUTS[options.fmt] if options.fmt in LAYOUT_FORMATS else None
    if options.fmt in LAYOUT_FORMATS:
        raise LoadError(
            f"--format {options.fmt} fixes the columns; drop it to use a column mapping, "
            "or drop the mapping"
        )
    return build_mapping(settings or MappingSettings(), options.columns)


def _remove_demo_rows(con: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    """Delete generated demo rows (and their planted archetypes): real data replaces them.

    The demo's optional inputs (attributes, engagement) go too: they describe demo customers,
    whose ids may well be real customers' ids.
    """
    demo_rows = con.execute(
        f"select count(*) from {qualified(TRANSACTIONS_TABLE)} where starts_with(source_file, ?)",
        [DEMO_SOURCE_PREFIX],
    ).fetchall()[0][0]
    if not demo_rows:
        return
    for table in (TRANSACTIONS_TABLE, CUSTOMER_ATTRIBUTES_TABLE, ENGAGEMENT_EVENTS_TABLE):
        con.execute(
            f"delete from {qualified(table)} where starts_with(source_file, ?)",
            [DEMO_SOURCE_PREFIX],
        )
    con.execute(f"delete from {qualified(ARCHETYPES_TABLE)}")
    report.notes.append(f"removed {demo_rows:,} demo rows: your data replaces the demo data")


def _refuse_foreign_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Stop when ``raw.transactions`` holds rows no load accounts for (e.g. demo data)."""
    foreign = foreign_row_sources(con)
    if not foreign:
        return
    total = sum(count for _, count in foreign)
    sources = ", ".join(repr(source) for source, _ in foreign)
    raise LoadError(
        f"raw.transactions already holds {total:,}+ rows that `segmentation load` did not load "
        f"(source_file {sources}), e.g. generated demo data; loading files on top would mix "
        "them. Load into another warehouse (--database) or remove the existing one first"
    )


def _plan(
    con: duckdb.DuckDBPyConnection,
    inspected: list[tuple[SourceFile, FileFacts]],
    replace_changed: bool,
    report: LoadReport,
) -> list[_PlannedFile]:
    """Decide per file: load, skip (same content already loaded) or replace (changed)."""
    logged = current_files(con)
    by_path = {f.file_path: f for f in logged}
    by_checksum = {f.checksum: f for f in logged}
    seen: dict[str, str] = {}
    planned: list[_PlannedFile] = []
    changed: list[LoggedFile] = []
    for source, facts in inspected:
        previous = by_path.get(source.name)
        if previous is not None and previous.checksum == facts.checksum:
            report.skipped.append((source.name, "already loaded"))
            continue
        if previous is not None:
            changed.append(previous)
            planned.append(_PlannedFile(source, facts, replaces=previous))
            continue
        twin = by_checksum.get(facts.checksum)
        if twin is not None:
            report.skipped.append((source.name, f"same content as {twin.file_path}, loaded before"))
            continue
        if facts.checksum in seen:
            report.skipped.append((source.name, f"same content as {seen[facts.checksum]}"))
            continue
        seen[facts.checksum] = source.name
        planned.append(_PlannedFile(source, facts))
    if changed and not replace_changed:
        names = ", ".join(f.file_path for f in changed[:5])
        more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        raise LoadError(
            f"{len(changed)} file(s) changed since they were loaded: {names}{more}. Loading "
            "them again would duplicate rows; use --replace-changed to replace their rows"
        )
    for plan in planned:
        if plan.replaces is not None:
            retire_file(con, plan.replaces)
    return planned


def _load_planned(
    con: duckdb.DuckDBPyConnection,
    planned: list[_PlannedFile],
    mapping: ColumnMapping | None,
    options: LoadOptions,
    date_format: str | None,
    delimiter: str | None,
    report: LoadReport,
    stream: TextIO | None,
) -> None:
    """Stage, parse, validate and write the planned files; fill ``report``.

    The stage is read three times: for the day/month order of text dates, for the rejected
    rows (with their reasons) and for the rows to load, which go straight to raw.transactions.
    """
    parsing.create_stage_tables(con)
    units = _stage_all(con, planned, mapping, options, delimiter, report, stream)
    with _parquet_read_errors(units):
        date_parsing = parsing.resolve_date_parsing(con, date_format, previous_date_orders(con))
        parsing.parse_stage(con, date_parsing)
        rejected_in_sql = parsing.collect_rejected(con)
        for unit in units:
            if rejected_in_sql.get(unit.index):
                parsing.attach_raw_values(con, unit.index, unit.staged)
    if date_parsing.note:
        report.notes.append(date_parsing.note)
    _write_rejected_rows(con, units, report.load_id)
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    log_rows = []
    for unit in units:
        rejected = rejected_in_sql.get(unit.index, 0)
        loaded = unit.staged.rows_staged - rejected
        rejected += len(unit.staged.malformed)
        result = UnitResult(
            unit.staged.source_file,
            unit.planned.source.name,
            unit.mapping.name,
            unit.staged.rows_read,
            loaded,
            rejected,
            replaced=unit.planned.replaces is not None,
        )
        report.units.append(result)
        log_rows.append(_log_row(report.load_id, unit, result, date_parsing, loaded_at))
    if report.rows_read and not report.rows_loaded:
        reasons = reason_summary(con, report.load_id, REASON_KINDS_SHOWN)
        shown = "; ".join(f"{kind} ({count:,} rows, e.g. {ex})" for kind, count, ex in reasons)
        raise LoadError(
            f"every one of the {report.rows_read:,} rows was rejected, so the column mapping, "
            f"date format or encoding is probably wrong: {shown}"
        )
    with _parquet_read_errors(units):
        written = _write_transactions(con)
    if written != report.rows_loaded:
        raise RuntimeError(
            f"{report.rows_read:,} rows read and {report.rows_rejected:,} rejected, so "
            f"{report.rows_loaded:,} to load, but {written:,} were written"
        )
    _insert_log_rows(con, log_rows)
    report.reasons = reason_summary(con, report.load_id, REASON_KINDS_SHOWN)


def _stage_all(
    con: duckdb.DuckDBPyConnection,
    planned: list[_PlannedFile],
    mapping: ColumnMapping | None,
    options: LoadOptions,
    delimiter: str | None,
    report: LoadReport,
    stream: TextIO | None,
) -> list[_Unit]:
    """Read every planned file, resolve its columns and create the stage view over them."""
    progress = Progress(len(planned), "reading files", stream=stream, enabled=options.show_progress)
    units: list[_Unit] = []
    in_place: list[str] = []
    with tempfile.TemporaryDirectory(prefix="segmentation-load-") as workdir:
        for number, plan in enumerate(planned):
            table = f"_load_raw_{number}"
            if plan.source.container == "csv":
                staged = [
                    stage_csv(con, plan.source, plan.facts, table, delimiter, Path(workdir), number)
                ]
            elif plan.source.container == "parquet":
                staged = [stage_parquet(con, plan.source, table)]
            else:
                staged = stage_excel(con, plan.source, table, options.show_progress, stream)
            for table_unit in staged:
                unit_mapping = mapping or detect_layout(table_unit.columns)
                if unit_mapping is None:
                    raise unrecognised_header_error(table_unit.columns, table_unit.source_file)
                resolved = resolve_columns(unit_mapping, table_unit.columns, table_unit.source_file)
                unit = _Unit(len(units), table_unit, plan, unit_mapping, resolved)
                select = parsing.stage_unit(
                    con, unit.index, table_unit, resolved, unit_mapping.amount_field
                )
                if select is not None:
                    in_place.append(select)
                units.append(unit)
            progress.advance(1, plan.source.name)
    progress.finish()
    parsing.create_stage_view(con, in_place)
    report.notes.extend(_encoding_notes(planned))
    return units


@contextmanager
def _parquet_read_errors(units: list[_Unit]) -> Iterator[None]:
    """Report a Parquet file that cannot be read (e.g. a damaged data page) as a LoadError.

    Parquet units are views over their files, read only when the stage is; CSV and Excel
    units are tables, read in full when staged, so other DuckDB errors are left as they are.
    """
    try:
        yield
    except (duckdb.OutOfMemoryException, duckdb.InterruptException):
        raise
    except duckdb.Error as error:
        names = [u.staged.source_file for u in units if u.planned.source.container == "parquet"]
        if not names:
            raise
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        raise LoadError(f"{shown}: cannot read the Parquet data: {error}") from error


def _encoding_notes(planned: list[_PlannedFile]) -> list[str]:
    """One note per guessed encoding: how many files were not UTF-8 and how they were read."""
    guessed: dict[str, list[str]] = {}
    for plan in planned:
        if plan.facts.encoding_guessed and plan.facts.encoding:
            guessed.setdefault(plan.facts.encoding, []).append(plan.source.name)
    return [
        f"{len(names):,} file(s) not UTF-8, read as {encoding} (e.g. {names[0]}); "
        "state the encoding with --encoding if that is wrong"
        for encoding, names in guessed.items()
    ]


def _write_transactions(con: duckdb.DuckDBPyConnection) -> int:
    """Insert the loadable rows of the parsed stage into raw.transactions; return how many.

    The rows are not sorted: a row is identified by ``(source_file, source_row)``, which
    every reader orders by, and sorting millions of rows costs more than the rest of the
    write (DuckDB keeps the stage's order, which is file order or close to it).
    """
    columns = ", ".join(TRANSACTION_COLUMNS)
    return con.execute(
        f"insert into {qualified(TRANSACTIONS_TABLE)} ({columns}) "
        f"select {columns} from {parsing.PARSED_VIEW} where reject_reason is null"
    ).fetchall()[0][0]


def _write_rejected_rows(con: duckdb.DuckDBPyConnection, units: list[_Unit], load_id: str) -> None:
    """Insert the rejected rows (parsed and malformed) into raw.rejected_rows."""
    con.execute(
        f"insert into {qualified(REJECTED_ROWS_TABLE)} "
        f"select ?, source_file, source_row, raw_values, reject_reason "
        f"from {parsing.REJECTED_TABLE} order by unit_index, source_row",
        [load_id],
    )
    malformed = [
        (load_id, unit.staged.source_file, line.source_row, _line_json(line.raw_line), line.reason)
        for unit in units
        for line in unit.staged.malformed
    ]
    if malformed:
        con.executemany(
            f"insert into {qualified(REJECTED_ROWS_TABLE)} values (?, ?, ?, ?, ?)", malformed
        )


def _line_json(raw_line: str) -> str:
    import json

    return json.dumps({"line": raw_line}, ensure_ascii=False)


def _log_row(
    load_id: str,
    unit: _Unit,
    result: UnitResult,
    date_parsing: parsing.DateParsing,
    loaded_at: dt.datetime,
) -> list[object]:
    """The unit's row of raw.load_log, in column order."""
    source = unit.planned.source
    values = {
        "load_id": load_id,
        "source_file": result.source_file,
        "file_path": source.name,
        "sheet_name": unit.staged.sheet,
        "file_format": source.container,
        "layout": unit.mapping.name,
        "checksum": unit.planned.facts.checksum,
        "file_bytes": unit.planned.facts.size,
        "encoding": unit.planned.facts.encoding,
        "date_format": date_parsing.date_format,
        "date_order": date_parsing.order,
        "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected,
        **{cap: f in unit.resolved for f, cap in OPTIONAL_CAPABILITIES.items()},
        "amount_source": unit.mapping.amount_field,
        "loaded_at": loaded_at,
        "is_current": True,
    }
    return [values[name] for name in LOAD_LOG_COLUMNS]


def _insert_log_rows(con: duckdb.DuckDBPyConnection, rows: list[list[object]]) -> None:
    """Append rows to raw.load_log in one statement."""
    if not rows:
        return
    placeholders = "(" + ", ".join("?" for _ in LOAD_LOG_COLUMNS) + ")"
    con.execute(
        f"insert into {qualified(LOAD_LOG_TABLE)} ({', '.join(LOAD_LOG_COLUMNS)}) values "
        + ", ".join(placeholders for _ in rows),
        [value for row in rows for value in row],
    )

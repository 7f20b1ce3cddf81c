"""Loading the optional inputs: customer attributes and engagement events, all or nothing.

Both are loaded like the transaction log (:mod:`segmentation.loading.loader`), with its files,
format detection and readers: a file already loaded with the same content is skipped, a changed
one is an error unless ``replace_changed`` (its old rows then give way), every row that cannot
be loaded is kept in ``raw.rejected_rows`` with its file, line and reason, and the whole load is
one transaction, so a failed load leaves what was loaded before as it was.

- Customer attributes (``raw.customer_attributes``) are stored long, one row per customer,
  attribute and file, so any columns fit. Empty cells and the mapping's ``missing_values`` give
  no row (coverage is counted downstream, never imputed). A customer on several rows of one file
  is rejected on each of them (which row holds would be a guess); a later file may restate a
  customer (staging keeps the latest as-of date, then the latest load).
- Engagement events (``raw.engagement_events``) keep the user's event type and the kind the
  mapping gives it; a type the mapping does not name, an empty customer or a timestamp that
  cannot be read rejects the row.

Loads are recorded in ``raw.source_load_log``. Generated demo rows of a source give way to the
first real file of that source. Entry point: :func:`load_source`; CLI: ``segmentation load
--source customers|engagement``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from segmentation.io.contract import (
    CUSTOMER_ATTRIBUTE_COLUMNS,
    CUSTOMER_ATTRIBUTES_TABLE,
    DEMO_SOURCE_PREFIX,
    ENGAGEMENT_EVENT_COLUMNS,
    ENGAGEMENT_EVENTS_TABLE,
    RAW_SCHEMA,
    SOURCE_LOAD_LOG_COLUMNS,
    SOURCE_LOAD_LOG_TABLE,
)
from segmentation.io.warehouse import ensure_raw_tables
from segmentation.loading.errors import LoadError
from segmentation.loading.formats import FileFacts, SourceFile, discover_files, inspect_file
from segmentation.loading.log import REJECTED_ROWS_TABLE, drop_work_tables, reason_summary
from segmentation.loading.parsing import column_types, typed_value_sql
from segmentation.loading.reading import (
    StagedTable,
    quote_identifier,
    quote_literal,
    stage_csv,
    stage_excel,
    stage_parquet,
)
from segmentation.loading.source_mapping import (
    CATEGORICAL,
    CUSTOMERS,
    NUMERIC,
    SourceMapping,
    read_source_mapping,
    resolve_source_columns,
)

TARGET_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    CUSTOMERS: (CUSTOMER_ATTRIBUTES_TABLE, CUSTOMER_ATTRIBUTE_COLUMNS),
    "engagement": (ENGAGEMENT_EVENTS_TABLE, ENGAGEMENT_EVENT_COLUMNS),
}
ROWS_TABLE = "_source_rows"
REASONS_SHOWN = 5


@dataclass(frozen=True)
class SourceOptions:
    """How to load one optional input (the ``segmentation load --source`` options)."""

    source_name: str
    mapping_file: Path | None = None
    replace_changed: bool = False


@dataclass
class SourceReport:
    """What a load of an optional input did."""

    load_id: str
    source_name: str
    files: list[tuple[str, int, int, int]] = field(default_factory=list)  # read, loaded, rejected
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reasons: list[tuple[str, int, str]] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        return sum(f[1] for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f[2] for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f[3] for f in self.files)


def load_source(
    con: duckdb.DuckDBPyConnection, path: Path | str, options: SourceOptions
) -> SourceReport:
    """Load the file or folder ``path`` as the optional input ``options.source_name``.

    Raises :class:`LoadError` (and writes nothing) for a missing path, a bad mapping, missing
    columns, a changed file without ``replace_changed`` or a file whose every row is rejected.
    """
    from segmentation.loading.loader import new_load_id

    started = time.perf_counter()
    mapping = read_source_mapping(options.source_name, options.mapping_file)
    files, _ = discover_files(Path(path))
    report = SourceReport(new_load_id(), options.source_name)
    con.execute("begin transaction")
    try:
        ensure_raw_tables(con)
        _remove_demo_rows(con, options.source_name, report)
        planned = _plan(con, files, mapping, options, report)
        with tempfile.TemporaryDirectory(prefix="segmentation-source-") as workdir:
            for number, source in enumerate(planned):
                _load_file(con, source, number, mapping, Path(workdir), report)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        drop_work_tables(con, "_source_")
    report.reasons = reason_summary(con, report.load_id, REASONS_SHOWN)
    report.elapsed_seconds = time.perf_counter() - started
    return report


def _table(source_name: str) -> str:
    return f"{RAW_SCHEMA}.{TARGET_TABLES[source_name][0]}"


def _remove_demo_rows(
    con: duckdb.DuckDBPyConnection, source_name: str, report: SourceReport
) -> None:
    """Generated demo rows of this input give way to real files."""
    table = _table(source_name)
    removed = con.execute(
        f"delete from {table} where starts_with(source_file, ?)", [DEMO_SOURCE_PREFIX]
    ).fetchall()[0][0]
    if removed:
        report.notes.append(f"removed {removed:,} demo rows of {table}: your file replaces them")


def _plan(
    con: duckdb.DuckDBPyConnection,
    files: list[SourceFile],
    mapping: SourceMapping,
    options: SourceOptions,
    report: SourceReport,
) -> list[tuple[SourceFile, FileFacts]]:
    """The files to load with what their bytes say; skip the loaded, retire the changed."""
    logged = dict(
        con.execute(
            f"select file_path, any_value(checksum) from {RAW_SCHEMA}.{SOURCE_LOAD_LOG_TABLE} "
            "where is_current and source_name = ? group by file_path",
            [options.source_name],
        ).fetchall()
    )
    planned: list[tuple[SourceFile, FileFacts]] = []
    changed: list[str] = []
    seen: dict[str, str] = {}
    for source in files:
        facts = inspect_file(source, mapping.encoding)
        previous = logged.get(source.name)
        if previous == facts.checksum:
            report.skipped.append((source.name, "already loaded"))
            continue
        twin = seen.get(facts.checksum) or next(
            (name for name, checksum in logged.items() if checksum == facts.checksum), None
        )
        if twin is not None:
            report.skipped.append((source.name, f"same content as {twin}"))
            continue
        if previous is not None:
            changed.append(source.name)
        seen[facts.checksum] = source.name
        planned.append((source, facts))
    if changed and not options.replace_changed:
        raise LoadError(
            f"{len(changed)} file(s) changed since they were loaded: {', '.join(changed[:5])}. "
            "Loading them again would duplicate rows; use --replace-changed to replace their rows"
        )
    for name in changed:
        _retire(con, options.source_name, name)
    return planned


def _retire(con: duckdb.DuckDBPyConnection, source_name: str, file_path: str) -> None:
    """Remove a changed file's rows (loaded and rejected); keep its log rows, not current."""
    units = [
        row[0]
        for row in con.execute(
            f"select source_file from {RAW_SCHEMA}.{SOURCE_LOAD_LOG_TABLE} "
            "where is_current and source_name = ? and file_path = ?",
            [source_name, file_path],
        ).fetchall()
    ]
    for table in (_table(source_name), f"{RAW_SCHEMA}.{REJECTED_ROWS_TABLE}"):
        con.execute(f"delete from {table} where list_contains(?, source_file)", [units])
    con.execute(
        f"update {RAW_SCHEMA}.{SOURCE_LOAD_LOG_TABLE} set is_current = false "
        "where is_current and source_name = ? and file_path = ?",
        [source_name, file_path],
    )


def _stage(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    facts: FileFacts,
    number: int,
    mapping: SourceMapping,
    workdir: Path,
) -> list[StagedTable]:
    table = f"_source_raw_{number}"
    if source.container == "csv":
        return [stage_csv(con, source, facts, table, mapping.delimiter, workdir, number)]
    if source.container == "parquet":
        return [stage_parquet(con, source, table)]
    return stage_excel(con, source, table, show_progress=False)


def _load_file(
    con: duckdb.DuckDBPyConnection,
    source: tuple[SourceFile, FileFacts],
    number: int,
    mapping: SourceMapping,
    workdir: Path,
    report: SourceReport,
) -> None:
    """Stage, check and write one file (every sheet of a workbook)."""
    file, facts = source
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    for staged in _stage(con, file, facts, number, mapping, workdir):
        fields, attributes = resolve_source_columns(mapping, staged.columns, staged.source_file)
        con.execute(f"drop table if exists {ROWS_TABLE}")
        if mapping.source_name == CUSTOMERS:
            con.execute(_attribute_rows_sql(con, staged, fields, attributes, mapping))
        else:
            con.execute(_event_rows_sql(con, staged, fields, mapping))
        rejected = _write_rejected(con, staged, report.load_id)
        rejected += _write_malformed(con, staged, report.load_id)
        loaded = staged.rows_read - rejected
        if staged.rows_read and not loaded:
            example = con.execute(
                f"select source_row, reason from {ROWS_TABLE} where reason is not null "
                "order by source_row limit 1"
            ).fetchall()
            shown = f" (e.g. row {example[0][0]}: {example[0][1]})" if example else ""
            raise LoadError(
                f"{staged.source_file}: every one of the {staged.rows_read:,} rows was "
                f"rejected, so the mapping or date format is probably wrong{shown}"
            )
        if mapping.source_name == CUSTOMERS:
            _write_attributes(con, attributes, staged.source_file, loaded_at)
        else:
            _write_events(con, staged.source_file)
        values = [
            report.load_id,
            mapping.source_name,
            staged.source_file,
            file.name,
            facts.checksum,
            facts.size,
            staged.rows_read,
            loaded,
            rejected,
            loaded_at,
            True,
        ]
        placeholders = ", ".join("?" for _ in SOURCE_LOAD_LOG_COLUMNS)
        con.execute(
            f"insert into {RAW_SCHEMA}.{SOURCE_LOAD_LOG_TABLE} values ({placeholders})", values
        )
        report.files.append((staged.source_file, staged.rows_read, loaded, rejected))


# ------------------------------------------------------------------------------- parsing SQL


def _text(column: str) -> str:
    """A staged column as trimmed text, empty as null."""
    return f"nullif(trim(cast({quote_identifier(column)} as varchar)), '')"


def _timestamp(text: str, date_format: str | None) -> str:
    if date_format:
        return f"try_strptime({text}, {quote_literal(date_format)})"
    return f"try_cast({text} as timestamp)"


def _timestamp_items(
    con: duckdb.DuckDBPyConnection,
    staged: StagedTable,
    column: str | None,
    date_format: str | None,
    text: str,
    value: str,
) -> tuple[str, str]:
    """SELECT items of a timestamp field read from ``column`` (None: the file has none).

    Returns the items of the first CTE (the trimmed text as ``text``, and ``value`` itself when
    it needs no parsing) and the item of the next CTE that parses ``value`` from ``text`` (with
    its trailing comma; empty when there is nothing to parse). A column the file already types
    (a Parquet TIMESTAMP or DATE) is taken as it is, by the transaction log's rule
    (:func:`segmentation.loading.parsing.typed_value_sql`), not written out as text and parsed
    back, so the mapping's ``date_format`` does not apply to it; its ``text`` is NULL.
    """
    if column is None:
        typed = "cast(null as timestamp)"
    else:
        typed = typed_value_sql("invoiced_at", column, column_types(con, staged.table)[column])
    if typed:
        return f"cast(null as varchar) as {text}, {typed} as {value}", ""
    return f"{_text(column)} as {text}", f"{_timestamp(text, date_format)} as {value},"


def _known(text: str, mapping: SourceMapping) -> str:
    """A value with the mapping's missing values (e.g. ``Unknown``) as null."""
    if not mapping.missing_values:
        return text
    missing = ", ".join(quote_literal(v) for v in mapping.missing_values)
    return f"case when {text} in ({missing}) then null else {text} end"


def _attribute_types(
    con: duckdb.DuckDBPyConnection,
    staged: StagedTable,
    attributes: dict[str, str],
    mapping: SourceMapping,
) -> dict[str, str]:
    """Attribute column -> numeric or categorical: as the mapping says, else numeric when every
    value that is not missing reads as a number."""
    types: dict[str, str] = {}
    for column, name in attributes.items():
        if name in mapping.numeric or name in mapping.categorical:
            types[column] = NUMERIC if name in mapping.numeric else CATEGORICAL
            continue
        value = _known(_text(column), mapping)
        values, numbers = con.execute(
            f"select count({value}), count(try_cast({value} as double)) from {staged.table}"
        ).fetchall()[0]
        types[column] = NUMERIC if values and values == numbers else CATEGORICAL
    return types


def _attribute_rows_sql(
    con: duckdb.DuckDBPyConnection,
    staged: StagedTable,
    fields: dict[str, str],
    attributes: dict[str, str],
    mapping: SourceMapping,
) -> str:
    """The staged file with one checked row per line: customer, as-of date, each attribute's
    value (missing values as null) and the reason a line is rejected (null: loaded)."""
    types = _attribute_types(con, staged, attributes, mapping)
    values = ",\n".join(f"{_known(_text(c), mapping)} as a{i}" for i, c in enumerate(attributes))
    as_of, parsed_as_of = _timestamp_items(
        con, staged, fields.get("as_of_date"), mapping.date_format, "as_of_text", "as_of_at"
    )
    not_numbers = [
        f"when a{i} is not null and try_cast(a{i} as double) is null then "
        f"'attribute {name} is numeric but ' || {_quoted('a' + str(i))} || ' is not a number'"
        for i, (column, name) in enumerate(attributes.items())
        if types[column] == NUMERIC
    ]
    return f"""
        create temp table {ROWS_TABLE} as
        with lines as (
            select {staged.row_expr} as source_row,
                {_text(fields["customer_id"])} as customer_id,
                {as_of},
                {values}
            from {staged.table}
        ),
        counted as (
            select *,
                {parsed_as_of}
                count(*) over (partition by customer_id) as customer_rows,
                string_agg(cast(source_row as varchar), ', ') over (
                    partition by customer_id order by source_row
                    rows between unbounded preceding and unbounded following
                ) as customer_lines
            from lines
        )
        select *,
            cast(as_of_at as date) as as_of_date,
            {_types_struct(attributes, types)} as attribute_types,
            case
                when customer_id is null then 'customer id is empty'
                when customer_rows > 1 then 'customer ' || {_quoted("customer_id")}
                    || ' is on ' || customer_rows || ' rows of this file (rows '
                    || customer_lines || '): which one holds is ambiguous'
                when as_of_text is not null and as_of_at is null then 'as-of date '
                    || {_quoted("as_of_text")} || ' cannot be read as a date'
                {" ".join(not_numbers)}
            end as reason
        from counted
    """


def _types_struct(attributes: dict[str, str], types: dict[str, str]) -> str:
    pairs = ", ".join(
        f"{quote_literal(name)}: {quote_literal(types[column])}"
        for column, name in attributes.items()
    )
    return f"{{{pairs}}}"


def _quoted(expression: str) -> str:
    """SQL text of a value in single quotes, for reasons (``'abc'``)."""
    return f"'''' || {expression} || ''''"


def _event_rows_sql(
    con: duckdb.DuckDBPyConnection,
    staged: StagedTable,
    fields: dict[str, str],
    mapping: SourceMapping,
) -> str:
    """The staged file with one checked row per line: customer, timestamp, type, kind, reason
    (a typed timestamp column is taken as it is: :func:`_timestamp_items`)."""
    kinds = mapping.event_kind_map()
    cases = " ".join(
        f"when {quote_literal(event_type)} then {quote_literal(kind)}"
        for event_type, kind in sorted(kinds.items())
    )
    fmt = (
        f" with format {mapping.date_format}"
        if mapping.date_format
        else " (ISO, e.g. 2024-01-31 09:15:00; else state date_format in the mapping)"
    )
    occurred, parsed = _timestamp_items(
        con, staged, fields["occurred_at"], mapping.date_format, "occurred_text", "occurred_at"
    )
    return f"""
        create temp table {ROWS_TABLE} as
        with lines as (
            select {staged.row_expr} as source_row,
                {_text(fields["customer_id"])} as customer_id,
                {occurred},
                {_text(fields["event_type"])} as event_type
            from {staged.table}
        ),
        parsed as (
            select *,
                {parsed}
                case event_type {cases} end as event_kind
            from lines
        )
        select *,
            case
                when customer_id is null then 'customer id is empty'
                when occurred_at is null and occurred_text is null then 'timestamp is empty'
                when occurred_at is null then 'timestamp ' || {_quoted("occurred_text")}
                    || ' cannot be read{fmt.replace("'", "''")}'
                when event_type is null then 'event type is empty'
                when event_kind is null then 'event type ' || {_quoted("event_type")}
                    || ' is not in the mapping (name it under event_types, or under other '
                    || 'to keep and count it)'
            end as reason
        from parsed
    """


# ----------------------------------------------------------------------------------- writing


def _write_rejected(con: duckdb.DuckDBPyConnection, staged: StagedTable, load_id: str) -> int:
    """Rejected lines with their original values (JSON) into raw.rejected_rows."""
    pairs = ", ".join(
        f"{quote_literal(c)}, cast({quote_identifier(c)} as varchar)" for c in staged.columns
    )
    return con.execute(
        f"""
        insert into {RAW_SCHEMA}.{REJECTED_ROWS_TABLE}
        select ?, ?, r.source_row, o.raw_values, r.reason
        from {ROWS_TABLE} as r
        inner join (
            -- only the rejected lines are turned into JSON, not the whole file
            select {staged.row_expr} as source_row, json_object({pairs}) as raw_values
            from {staged.table}
            where {staged.row_expr} in (
                select source_row from {ROWS_TABLE} where reason is not null
            )
        ) as o on r.source_row = o.source_row
        where r.reason is not null
        order by r.source_row
        """,
        [load_id, staged.source_file],
    ).fetchall()[0][0]


def _write_malformed(con: duckdb.DuckDBPyConnection, staged: StagedTable, load_id: str) -> int:
    """Lines the CSV reader could not split, with the reader's reason."""
    import json

    rows = [
        (load_id, staged.source_file, m.source_row, json.dumps({"line": m.raw_line}), m.reason)
        for m in staged.malformed
    ]
    if rows:
        con.executemany(
            f"insert into {RAW_SCHEMA}.{REJECTED_ROWS_TABLE} values (?, ?, ?, ?, ?)", rows
        )
    return len(rows)


def _write_attributes(
    con: duckdb.DuckDBPyConnection,
    attributes: dict[str, str],
    source_file: str,
    loaded_at: dt.datetime,
) -> None:
    """Unpivot the loaded lines: one row per customer and attribute with a value."""
    selects = [
        f"""
        select customer_id, {quote_literal(name)}, a{i},
            attribute_types[{quote_literal(name)}], as_of_date, $loaded_at, $source_file,
            source_row
        from {ROWS_TABLE}
        where reason is null and a{i} is not null
        """
        for i, name in enumerate(attributes.values())
    ]
    columns = ", ".join(CUSTOMER_ATTRIBUTE_COLUMNS)
    con.execute(
        f"insert into {_table(CUSTOMERS)} ({columns}) " + " union all ".join(selects),
        {"loaded_at": loaded_at, "source_file": source_file},
    )


def _write_events(con: duckdb.DuckDBPyConnection, source_file: str) -> None:
    """The loaded lines into raw.engagement_events."""
    columns = ", ".join(ENGAGEMENT_EVENT_COLUMNS)
    con.execute(
        f"insert into {_table('engagement')} ({columns}) "
        f"select customer_id, occurred_at, event_type, event_kind, ?, source_row "
        f"from {ROWS_TABLE} where reason is null",
        [source_file],
    )

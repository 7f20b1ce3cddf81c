"""Publish the BI-facing tables to a serving database that builds never lock.

DuckDB allows one writing process or many readers, never both, so dashboards must not read the
warehouse that ``dbt build`` writes. After a build whose every model and test passed, this module
copies the tables that BI tools read (by rule: every table and view in the schemas ``marts``,
``reporting`` and ``monitoring``, plus any named extra) into a *new* DuckDB file beside the
serving copy and renames it over the old one with :func:`os.replace`, an atomic rename within
one folder. A reader therefore opens either the previous complete copy or the new complete one.

What was found by experiment (DuckDB 2.0.1, Linux; ``tests/test_publish_dbt.py`` checks it):

- a connection opened before the rename keeps working and keeps seeing the copy it opened
  (the old file lives on, unlinked, while it is open); it sees the new copy once it reconnects;
- every connection opened after the rename, in another process, sees the new copy;
- within one process DuckDB reuses an open database instance per path, so a new connection made
  while an older one to the same path is still open shows the old copy too: a BI server sees the
  new copy once its pool has closed its connections;
- renaming over a file that is open is a POSIX feature: on Windows the rename fails while a
  reader holds the file, and the job says so and leaves the old copy.

Privacy: customer ids can be replaced by a keyed hash (HMAC-SHA256 with the key from
``$SEGMENTS_PSEUDONYM_KEY``), the same in every table, so joins still work while the ids cannot
be recovered by hashing every possible short id. Free-text columns that may carry personal data
(the product ``description`` of the input contract) are left out unless asked for.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import hmac
import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from segmentation.errors import JobError
from segmentation.io.locks import lock_holders, locked_message

PARQUET_DIR_ENV = "SEGMENTS_SERVING_PARQUET_DIR"
PSEUDONYM_KEY_ENV = "SEGMENTS_PSEUDONYM_KEY"
MIN_KEY_LENGTH = 16

DEFAULT_SCHEMAS: tuple[str, ...] = ("marts", "reporting", "monitoring")
DEFAULT_ID_COLUMNS: tuple[str, ...] = ("customer_id",)
# Free text typed by people (the input contract's product description): withheld by default.
DEFAULT_WITHHELD_COLUMNS: tuple[str, ...] = ("description",)

META_SCHEMA = "meta"
META_TABLE = "published_tables"

# dbt result statuses that let a build be published; anything else (error, fail, skipped,
# runtime error, ...) refuses.
PASSING_STATUSES = frozenset({"success", "pass", "warn", "no-op"})
# dbt commands that write to the warehouse; the last of them must be the build in run_results.
WRITING_COMMANDS = frozenset(
    {"build", "run", "seed", "snapshot", "test", "run-operation", "retry", "clone"}
)
OTHER_COMMANDS = frozenset(
    {"compile", "docs", "ls", "list", "parse", "debug", "deps", "clean", "show", "source", "init"}
)
_COMMAND_NAMES = {
    "generate": "docs generate",
    "serve": "docs serve",
    "freshness": "source freshness",
}
_LOG_HEADER = re.compile(r"^=+ (?P<time>\S+) \| (?P<id>[0-9a-f-]{36}) =+\s*$")
_LOG_COMMAND = re.compile(r"'invocation_command': '(?P<command>[^']*)'")
PSEUDONYM_HEX_CHARS = 32  # 128 bits of the HMAC: collisions are negligible at any customer count


class PublishRefused(JobError):
    """Publishing was refused; the serving copy was left as it was."""


# --------------------------------------------------------------------------------------------
# The build gate: target/run_results.json of the last dbt build
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildRecord:
    """The dbt build a publication comes from."""

    invocation_id: str
    generated_at: str
    status_counts: dict[str, int]

    def describe(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.status_counts.items()))
        return f"dbt build {self.invocation_id[:8]} of {self.generated_at} ({counts})"


def check_build(run_results: Path, log_dir: Path | None = None) -> BuildRecord:
    """The last dbt build, when every result passed; otherwise :class:`PublishRefused`.

    ``run_results`` is ``target/run_results.json``. It must come from ``dbt build`` (other
    commands, ``dbt docs generate`` included, overwrite it) and every node must have status
    success, pass or warn. With ``log_dir`` (dbt's ``logs/``) the last dbt command that writes
    the warehouse must be that very build: a build killed before it wrote its results leaves the
    previous results behind, and the warehouse half rebuilt.
    """
    run_results = Path(run_results)
    if not run_results.exists():
        raise PublishRefused(
            f"no dbt results at {run_results}: run `dbt build` first (publish runs right after it)"
        )
    try:
        data = json.loads(run_results.read_text())
        which = data.get("args", {}).get("which")
        invocation_id = data["metadata"]["invocation_id"]
        generated_at = data["metadata"].get("generated_at", "?")
        results = data["results"]
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise PublishRefused(f"{run_results} is not a dbt run_results file ({error})") from error
    if which != "build":
        raise PublishRefused(
            f"{run_results} records `dbt {_COMMAND_NAMES.get(which, which)}`, not `dbt build` "
            "(every dbt command, `dbt docs generate` too, overwrites it): run `dbt build`, then "
            "publish, then the docs"
        )
    if not results:
        raise PublishRefused(f"the dbt build recorded in {run_results} ran nothing")
    counts: dict[str, int] = {}
    for result in results:
        counts[str(result.get("status"))] = counts.get(str(result.get("status")), 0) + 1
    failed = [r for r in results if r.get("status") not in PASSING_STATUSES]
    if failed:
        shown = "\n".join(
            f"  {r.get('status')}: {r.get('unique_id')}"
            + (f" ({_first_line(r.get('message'))})" if r.get("message") else "")
            for r in failed[:8]
        )
        more = f"\n  ... and {len(failed) - 8} more" if len(failed) > 8 else ""
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        raise PublishRefused(
            f"the last dbt build ({generated_at}) did not pass its quality gates ({summary}):\n"
            f"{shown}{more}\nFix them and run `dbt build` again."
        )
    if log_dir is not None:
        last = last_writing_invocation(Path(log_dir) / "dbt.log")
        if last is not None and last[0] != invocation_id:
            raise PublishRefused(
                f"a later dbt command that writes the warehouse (`{last[1]}`, invocation "
                f"{last[0][:8]}) recorded no results: it was interrupted or is still running, "
                "so the warehouse may be half rebuilt. Run `dbt build` again, then publish."
            )
    return BuildRecord(invocation_id, generated_at, counts)


def last_writing_invocation(log_file: Path) -> tuple[str, str] | None:
    """(invocation id, command) of the last dbt command in ``log_file`` that writes the warehouse.

    Reads dbt's text log (``logs/dbt.log``): each invocation starts with a header line holding
    its id, followed by its arguments. None when the log is absent or in another format.
    """
    try:
        text = Path(log_file).read_text(errors="replace")
    except OSError:
        return None
    last: tuple[str, str] | None = None
    current: str | None = None
    for line in text.splitlines():
        header = _LOG_HEADER.match(line)
        if header:
            current = header["id"]
            continue
        command = _LOG_COMMAND.search(line) if current else None
        if command and current:
            if _subcommand(command["command"]) in WRITING_COMMANDS:
                last = (current, command["command"])
            current = None
    return last


def _subcommand(command: str) -> str | None:
    for token in command.split()[1:]:
        if token in WRITING_COMMANDS or token in OTHER_COMMANDS:
            return token
    return None


def _first_line(message: object) -> str:
    return str(message).strip().splitlines()[0][:200] if message else ""


# --------------------------------------------------------------------------------------------
# Which tables and columns
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishSpec:
    """What to publish: by rule (schemas), with named extras and exclusions.

    ``include`` and ``exclude`` hold ``schema.table`` names; ``exclude`` may use shell patterns
    (``monitoring.*_debug``). ``id_columns`` are pseudonymised when a key is given;
    ``withheld_columns`` (free text) are left out of every table.
    """

    schemas: tuple[str, ...] = DEFAULT_SCHEMAS
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    id_columns: tuple[str, ...] = DEFAULT_ID_COLUMNS
    withheld_columns: tuple[str, ...] = DEFAULT_WITHHELD_COLUMNS


@dataclass(frozen=True)
class SourceColumn:
    name: str
    data_type: str
    comment: str | None


@dataclass(frozen=True)
class SourceTable:
    schema: str
    name: str
    comment: str | None
    columns: tuple[SourceColumn, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


def tables_to_publish(
    con: duckdb.DuckDBPyConnection, catalog: str, spec: PublishSpec
) -> list[SourceTable]:
    """The tables and views of ``catalog`` that ``spec`` selects, sorted by name."""
    relations = con.execute(
        """
        select schema_name, table_name, comment from duckdb_tables() where database_name = ?
        union all
        select schema_name, view_name, comment from duckdb_views()
        where database_name = ? and not internal
        """,
        [catalog, catalog],
    ).fetchall()
    available = {f"{schema}.{name}": (schema, name, comment) for schema, name, comment in relations}
    missing = [name for name in spec.include if name not in available]
    if missing:
        raise PublishRefused(f"--include names tables that the warehouse does not hold: {missing}")
    chosen = [
        key
        for key, (schema, _, _) in available.items()
        if (schema in spec.schemas or key in spec.include)
        and not any(fnmatch.fnmatchcase(key, pattern) for pattern in spec.exclude)
    ]
    columns: dict[str, list[SourceColumn]] = {}
    for schema, table, column, data_type, comment in con.execute(
        """
        select schema_name, table_name, column_name, data_type, comment
        from duckdb_columns() where database_name = ?
        order by schema_name, table_name, column_index
        """,
        [catalog],
    ).fetchall():
        columns.setdefault(f"{schema}.{table}", []).append(SourceColumn(column, data_type, comment))
    return [
        SourceTable(available[key][0], available[key][1], available[key][2], tuple(columns[key]))
        for key in sorted(chosen)
    ]


# --------------------------------------------------------------------------------------------
# Pseudonyms
# --------------------------------------------------------------------------------------------


def pseudonym_key(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The pseudonymisation key from ``$SEGMENTS_PSEUDONYM_KEY`` (None when unset)."""
    environ = os.environ if environ is None else environ
    key = environ.get(PSEUDONYM_KEY_ENV, "")
    if not key:
        return None
    if len(key) < MIN_KEY_LENGTH:
        raise PublishRefused(
            f"${PSEUDONYM_KEY_ENV} is {len(key)} characters long; use at least {MIN_KEY_LENGTH} "
            "random characters (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    return key.encode()


def pseudonymise(value: str | None, key: bytes) -> str | None:
    """The keyed pseudonym of an id (HMAC-SHA256, hex, first 32 characters); None stays None."""
    if value is None:
        return None
    digest = hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_HEX_CHARS]


def _register_pseudonym(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    def batch(values: pa.Array) -> pa.Array:
        return pa.array([pseudonymise(v, key) for v in values.to_pylist()], pa.string())

    con.create_function("pseudonym", batch, ["VARCHAR"], "VARCHAR", type="arrow")


# --------------------------------------------------------------------------------------------
# Writing the serving copy
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedTable:
    schema: str
    name: str
    rows: int
    pseudonymised: tuple[str, ...]
    withheld: tuple[str, ...]


@dataclass(frozen=True)
class PublishResult:
    """What :func:`publish` wrote."""

    serving_path: Path
    tables: tuple[PublishedTable, ...]
    pseudonymised: bool
    parquet_dir: Path | None = None
    published_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)


def publish(
    source: Path,
    serving: Path,
    spec: PublishSpec = PublishSpec(),
    build: BuildRecord | None = None,
    key: bytes | None = None,
    parquet_dir: Path | None = None,
) -> PublishResult:
    """Copy the tables ``spec`` selects from ``source`` to a new ``serving`` file, atomically.

    The new copy is written to a hidden file in the serving folder, checked (row counts equal
    the source's), flushed to disk and renamed over ``serving``; on any failure the temporary
    file is removed and ``serving`` is untouched. With ``parquet_dir`` the same tables are also
    written as ``<parquet_dir>/<schema>/<table>.parquet``; ``parquet_dir`` is a symlink switched
    atomically to a new folder, so file readers also see one complete publication.
    """
    source, serving = Path(source), Path(serving)
    if not source.exists():
        raise PublishRefused(f"no warehouse at {source}: run the build first")
    if serving.resolve() == source.resolve():
        raise PublishRefused(f"the serving copy must be another file than the warehouse {source}")
    serving.parent.mkdir(parents=True, exist_ok=True)
    temporary = serving.parent / f".{serving.name}.{os.getpid()}.tmp"
    parquet_stage: Path | None = None
    published_at = dt.datetime.now(dt.UTC)
    _remove_stale_temporaries(serving)
    try:
        con = duckdb.connect(str(temporary))
        try:
            _attach_source(con, source)
            tables = tables_to_publish(con, "src", spec)
            if not tables:
                raise PublishRefused(
                    f"{source} holds no table in schemas {', '.join(spec.schemas)}: nothing to "
                    "publish"
                )
            if key is not None:
                _register_pseudonym(con, key)
            written = [_copy_table(con, table, spec, key) for table in tables]
            _write_meta(con, written, build, published_at, source)
            if parquet_dir is not None:
                parquet_stage = _new_parquet_folder(Path(parquet_dir), published_at)
                _export_parquet(con, written, parquet_stage)
            con.execute("detach src")
            con.execute("checkpoint")
        finally:
            con.close()
        _fsync(temporary)
        try:
            os.replace(temporary, serving)
        except OSError as error:
            raise PublishRefused(
                f"could not replace {serving} ({error}); on Windows a reader holding the file "
                "blocks the rename: close it and publish again"
            ) from error
        _fsync(serving.parent)
        if parquet_dir is not None and parquet_stage is not None:
            _switch_link(Path(parquet_dir), parquet_stage)
            parquet_stage = None
    except BaseException:
        _remove_database_files(temporary)
        if parquet_stage is not None:
            shutil.rmtree(parquet_stage, ignore_errors=True)
        raise
    return PublishResult(
        serving_path=serving,
        tables=tuple(written),
        pseudonymised=key is not None,
        parquet_dir=Path(parquet_dir) if parquet_dir is not None else None,
        published_at=published_at,
    )


def _attach_source(con: duckdb.DuckDBPyConnection, source: Path) -> None:
    try:
        con.execute(f"attach {_literal(str(source.resolve()))} as src (read_only)")
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            raise
        holders = lock_holders(source)
        if holders:
            message = locked_message(source, holders, "it cannot be read for publishing")
        else:
            message = f"{source} is locked by another process (a running build?): {error}"
        raise PublishRefused(message) from error


def _copy_table(
    con: duckdb.DuckDBPyConnection, table: SourceTable, spec: PublishSpec, key: bytes | None
) -> PublishedTable:
    selected: list[str] = []
    pseudonymised: list[str] = []
    withheld: list[str] = []
    for column in table.columns:
        name = _ident(column.name)
        if column.name in spec.withheld_columns:
            withheld.append(column.name)
        elif key is not None and column.name in spec.id_columns:
            selected.append(f"pseudonym(cast({name} as varchar)) as {name}")
            pseudonymised.append(column.name)
        else:
            selected.append(name)
    if not selected:
        raise PublishRefused(f"every column of {table.qualified} is withheld: exclude the table")
    target = f"{_ident(table.schema)}.{_ident(table.name)}"
    source = f"src.{target}"
    con.execute(f"create schema if not exists {_ident(table.schema)}")
    con.execute(f"create table {target} as select {', '.join(selected)} from {source}")
    if table.comment:
        con.execute(f"comment on table {target} is {_literal(table.comment)}")
    for column in table.columns:
        if column.name in withheld:
            continue
        comment = column.comment or ""
        if column.name in pseudonymised:
            comment = (comment + " " if comment else "") + (
                "Pseudonymised in the serving copy: keyed HMAC-SHA256, the same in every table."
            )
        if comment:
            con.execute(f"comment on column {target}.{_ident(column.name)} is {_literal(comment)}")
    rows = con.execute(f"select count(*) from {target}").fetchall()[0][0]
    expected = con.execute(f"select count(*) from {source}").fetchall()[0][0]
    if rows != expected:  # cannot happen short of a storage fault; never publish a short copy
        raise PublishRefused(f"{table.qualified}: copied {rows} rows of {expected}")
    return PublishedTable(table.schema, table.name, rows, tuple(pseudonymised), tuple(withheld))


def _write_meta(
    con: duckdb.DuckDBPyConnection,
    tables: Sequence[PublishedTable],
    build: BuildRecord | None,
    published_at: dt.datetime,
    source: Path,
) -> None:
    meta = f"{META_SCHEMA}.{META_TABLE}"
    con.execute(f"create schema if not exists {META_SCHEMA}")
    con.execute(
        f"""
        create table {meta} (
            table_schema varchar, table_name varchar, row_count bigint,
            pseudonymised_columns varchar[], withheld_columns varchar[],
            published_at timestamp, source_database varchar,
            dbt_invocation_id varchar, dbt_build_generated_at varchar
        )
        """
    )
    con.executemany(
        f"insert into {meta} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                t.schema,
                t.name,
                t.rows,
                list(t.pseudonymised),
                list(t.withheld),
                published_at.replace(tzinfo=None),
                source.name,
                build.invocation_id if build else None,
                build.generated_at if build else None,
            ]
            for t in tables
        ],
    )
    con.execute(
        f"comment on table {meta} is "
        + _literal(
            "One row per table of this serving copy: its row count, the columns pseudonymised or "
            "withheld, when it was published (UTC) and from which dbt build."
        )
    )


# --------------------------------------------------------------------------------------------
# Parquet export: versioned folders behind one symlink
# --------------------------------------------------------------------------------------------


def _new_parquet_folder(link: Path, published_at: dt.datetime) -> Path:
    if link.exists() and not link.is_symlink():
        raise PublishRefused(
            f"{link} is a folder this job did not create (it publishes Parquet behind a link "
            "of that name): move it away or choose another --parquet-dir"
        )
    link.parent.mkdir(parents=True, exist_ok=True)
    stamp = published_at.strftime("%Y%m%dT%H%M%S%f")
    folder = link.parent / f".{link.name}.v{stamp}"
    folder.mkdir()
    return folder


def _export_parquet(
    con: duckdb.DuckDBPyConnection, tables: Sequence[PublishedTable], folder: Path
) -> None:
    names = [(t.schema, t.name) for t in tables] + [(META_SCHEMA, META_TABLE)]
    for schema, name in names:
        (folder / schema).mkdir(exist_ok=True)
        path = folder / schema / f"{name}.parquet"
        con.execute(
            f"copy {_ident(schema)}.{_ident(name)} to {_literal(str(path))} (format parquet)"
        )


def _switch_link(link: Path, folder: Path, keep: int = 2) -> None:
    """Point ``link`` at ``folder`` atomically; keep the newest ``keep`` versions only."""
    temporary = link.parent / f".{link.name}.{os.getpid()}.link"
    if temporary.is_symlink():
        temporary.unlink()
    os.symlink(folder.name, temporary)
    os.replace(temporary, link)
    versions = sorted(link.parent.glob(f".{link.name}.v*"))
    for old in versions[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _fsync(path: Path) -> None:
    """Flush a file or folder to disk (folders: so the rename itself survives a power cut)."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() and hasattr(os, "O_DIRECTORY") else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_stale_temporaries(serving: Path) -> None:
    """Remove temporary copies left by publish runs that died (their process is gone)."""
    for path in serving.parent.glob(f".{serving.name}.*.tmp"):
        pid = path.name[len(serving.name) + 2 : -len(".tmp")]
        if pid.isdigit() and (int(pid) == os.getpid() or not _process_alive(int(pid))):
            _remove_database_files(path)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_database_files(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        if candidate.exists():
            candidate.unlink()

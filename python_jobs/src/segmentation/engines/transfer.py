"""Moving tables from the DuckDB warehouse to another engine.

A table travels as a Parquet file written by DuckDB, with its column types (DuckDB's names) kept
beside it; each engine's loader creates the table with :func:`engine_type` of every column and
appends or replaces the rows. Used for the raw log (the input contract, as a user's warehouse
would already hold it); the model's tables are made on each engine by ``segmentation
fit-model`` (:mod:`segmentation.warehouse_fit`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

# DuckDB type (upper case, without parameters) -> type of each engine's DDL.
_TYPES: dict[str, dict[str, str]] = {
    "VARCHAR": {"postgres": "text", "spark": "string"},
    "BIGINT": {"postgres": "bigint", "spark": "bigint"},
    "INTEGER": {"postgres": "integer", "spark": "int"},
    "SMALLINT": {"postgres": "smallint", "spark": "smallint"},
    "DOUBLE": {"postgres": "double precision", "spark": "double"},
    "FLOAT": {"postgres": "real", "spark": "float"},
    "BOOLEAN": {"postgres": "boolean", "spark": "boolean"},
    "DATE": {"postgres": "date", "spark": "date"},
    "TIMESTAMP": {"postgres": "timestamp", "spark": "timestamp"},
    "TIMESTAMP WITH TIME ZONE": {"postgres": "timestamptz", "spark": "timestamp"},
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


@dataclass(frozen=True)
class TableCopy:
    """One table written to Parquet: where it goes, its columns and how it is loaded."""

    schema: str
    name: str
    columns: tuple[tuple[str, str], ...]  # (column name, DuckDB type)
    path: Path
    rows: int
    append: bool = False

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    def as_record(self) -> dict[str, object]:
        return {
            "schema": self.schema,
            "name": self.name,
            "columns": [list(column) for column in self.columns],
            "path": str(self.path),
            "rows": self.rows,
            "append": self.append,
        }

    @classmethod
    def from_record(cls, record: dict[str, object]) -> TableCopy:
        columns = tuple((str(name), str(kind)) for name, kind in record["columns"])  # type: ignore[union-attr]
        return cls(
            schema=str(record["schema"]),
            name=str(record["name"]),
            columns=columns,
            path=Path(str(record["path"])),
            rows=int(record["rows"]),  # type: ignore[call-overload]
            append=bool(record["append"]),
        )


def engine_type(duckdb_type: str, engine: str) -> str:
    """The type ``engine`` (``postgres`` or ``spark``) creates for a DuckDB column type."""
    kind = duckdb_type.strip().upper()
    decimal = _DECIMAL.fullmatch(kind)
    if decimal:
        return f"decimal({decimal.group(1)}, {decimal.group(2)})"
    try:
        return _TYPES[kind][engine]
    except KeyError:
        raise ValueError(f"no {engine} type for the DuckDB type {duckdb_type!r}") from None


def create_table_sql(table: TableCopy, engine: str) -> str:
    """``create table`` for ``table`` on ``engine`` (Spark tables are Parquet)."""
    body = ", ".join(f"{name} {engine_type(kind, engine)}" for name, kind in table.columns)
    suffix = " using parquet" if engine == "spark" else ""
    return f"create table {table.qualified_name} ({body}){suffix}"


def export_table(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    name: str,
    folder: Path,
    where: str | None = None,
    append: bool = False,
) -> TableCopy:
    """Write ``schema.name`` (the rows matching ``where``, when given) to a Parquet file."""
    columns = tuple(
        (str(column), str(kind))
        for column, kind in con.execute(
            "select column_name, data_type from information_schema.columns"
            " where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, name],
        ).fetchall()
    )
    if not columns:
        raise ValueError(f"{schema}.{name} does not exist in the DuckDB warehouse")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{schema}.{name}.parquet"
    query = f"select * from {schema}.{name}" + (f" where {where}" if where else "")
    con.execute(f"copy ({query}) to '{_sql_path(path)}' (format parquet)")
    rows = con.execute(f"select count(*) from read_parquet('{_sql_path(path)}')").fetchall()[0][0]
    return TableCopy(schema, name, columns, path, int(rows), append)


def schema_tables_of(con: duckdb.DuckDBPyConnection, schema: str) -> list[tuple[str, str]]:
    """Every base table of ``schema`` in the DuckDB warehouse, by name."""
    rows = con.execute(
        "select table_name from information_schema.tables"
        " where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
        [schema],
    ).fetchall()
    return [(schema, str(row[0])) for row in rows]


def write_manifest(tables: Sequence[TableCopy], path: Path) -> None:
    """Record ``tables`` in a JSON file (the Spark loader, another process, reads it)."""
    path.write_text(json.dumps([table.as_record() for table in tables], indent=1))


def read_manifest(path: Path) -> list[TableCopy]:
    return [TableCopy.from_record(record) for record in json.loads(path.read_text())]


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")

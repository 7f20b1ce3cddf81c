"""Reading from and writing to a warehouse through the engine's own client.

:class:`PostgresWarehouse` (psycopg2, which dbt-postgres brings), :class:`SparkWarehouse` (a Spark
session with the target's settings) and :class:`DuckDBWarehouse` (the embedded default, where
dbt runs the Python models itself; the fit command works there too, which the tests use) share
one interface: :meth:`Warehouse.query` returns a pandas frame, :meth:`Warehouse.replace_tables`
writes the fit's tables.

Types are explicit both ways. Reading, numbers that a client hands over as ``Decimal`` become
floats and dates become ``datetime64`` (as DuckDB gives them to dbt's Python models), so the fit
sees the same frame on every engine. Writing, every column's type comes from the table registry
(:mod:`segmentation.io.tables`: the kind of each column of each model's table), mapped by
:func:`column_type` to the engine's DDL; a frame outside the registry has its kinds read from
its pandas dtypes.

Writes never leave a half-written fit: every table is first written in full beside its
destination (``<table>__fit_new``), and only when all are staged are they swapped in. On
PostgreSQL staging and swap are one transaction (DDL is transactional there), so a failure at
any point changes nothing. Spark has no transactions across tables: a failure while staging
changes nothing; the swap (drop, rename) runs table by table once everything is staged.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from segmentation.io import tables as registry
from segmentation.warehouse_fit.plan import Relation

STAGING_SUFFIX = "__fit_new"
SPARK_WRITE_THREADS = 4

# column kind (segmentation.io.tables) -> engine -> DDL type
_KIND_TYPES: dict[str, dict[str, str]] = {
    registry.STRING: {"postgres": "text", "spark": "string", "duckdb": "varchar"},
    registry.INT: {"postgres": "bigint", "spark": "bigint", "duckdb": "bigint"},
    registry.NULLABLE_INT: {"postgres": "bigint", "spark": "bigint", "duckdb": "bigint"},
    registry.FLOAT: {"postgres": "double precision", "spark": "double", "duckdb": "double"},
    registry.BOOL: {"postgres": "boolean", "spark": "boolean", "duckdb": "boolean"},
    registry.DATE: {"postgres": "date", "spark": "date", "duckdb": "date"},
    registry.TIMESTAMP: {"postgres": "timestamp", "spark": "timestamp", "duckdb": "timestamp"},
}


class WarehouseError(RuntimeError):
    """Reading or writing a table failed (names the table and, where known, the column)."""


@dataclass(frozen=True)
class TableWrite:
    """One table the fit writes: where, which registry table it is, and its rows."""

    relation: Relation
    table: str  # the model's name: its columns and kinds in segmentation.io.tables
    rows: pd.DataFrame


class Warehouse(Protocol):
    """What the fit needs of an engine."""

    engine: str

    def query(self, sql: str) -> pd.DataFrame:
        """The rows of ``sql`` as a frame (see :func:`normalise_frame`)."""
        ...

    def replace_tables(self, writes: Sequence[TableWrite]) -> None:
        """Replace every table of ``writes``, staged and swapped (see the module doc)."""
        ...

    def close(self) -> None: ...


# -- types ------------------------------------------------------------------------------------


def column_kinds(write: TableWrite) -> dict[str, str]:
    """Column -> kind for every column of ``write``'s rows, in their order: the registry's kind
    where it names the column for this table, else read from the pandas dtype (a model may
    return more columns than the registry's engine table, e.g. ml_segment_model)."""
    known = registry.SCHEMAS.get(write.table, {})
    return {
        str(name): known.get(str(name)) or kind_of_dtype(write.rows[name])
        for name in write.rows.columns
    }


def kind_of_dtype(values: pd.Series) -> str:
    """The kind of a column the registry does not describe, read from its dtype."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return registry.BOOL
    if pd.api.types.is_integer_dtype(dtype):
        return registry.NULLABLE_INT if values.isna().any() else registry.INT
    if pd.api.types.is_float_dtype(dtype):
        return registry.FLOAT
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return registry.TIMESTAMP
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_date(dtype.pyarrow_dtype):
        return registry.DATE
    present = values.dropna()
    if len(present) and all(
        isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in present
    ):
        return registry.DATE
    return registry.STRING


def column_type(kind: str, engine: str) -> str:
    """The DDL type ``engine`` gives a column of ``kind``."""
    try:
        return _KIND_TYPES[kind][engine]
    except KeyError:
        raise ValueError(f"no {engine} type for the column kind {kind!r}") from None


def create_table_sql(relation: str, kinds: Mapping[str, str], engine: str) -> str:
    """``create table`` of ``relation`` with a column per kind (Spark: a Parquet table)."""
    body = ", ".join(f"{name} {column_type(kind, engine)}" for name, kind in kinds.items())
    return f"create table {relation} ({body})" + (" using parquet" if engine == "spark" else "")


def python_rows(write: TableWrite) -> list[tuple[Any, ...]]:
    """The rows of ``write`` as plain Python values, column by column: NULL (also
    NaN and NaT) as None, integers as int, dates as ``date``, timestamps as ``datetime``."""
    kinds = column_kinds(write)
    columns = [[_python_value(v, kind) for v in write.rows[name]] for name, kind in kinds.items()]
    return list(zip(*columns, strict=True)) if columns else []


def _python_value(value: Any, kind: str) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating) and math.isnan(float(value)):
        return None
    if kind in (registry.INT, registry.NULLABLE_INT):
        return int(value)
    if kind == registry.FLOAT:
        return float(value)
    if kind == registry.BOOL:
        return bool(value)
    if kind == registry.DATE:
        return pd.Timestamp(value).date()
    if kind == registry.TIMESTAMP:
        return pd.Timestamp(value).to_pydatetime()
    return str(value)


def normalise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Client values as DuckDB hands them to dbt's Python models: ``Decimal`` columns as floats,
    ``date``/``datetime`` columns as ``datetime64``."""
    out = frame.copy()
    for name in out.columns:
        values = out[name]
        if values.dtype != object:
            continue
        present = values.dropna()
        if present.empty:
            continue
        if all(isinstance(v, decimal.Decimal) for v in present):
            out[name] = pd.to_numeric(values.map(_decimal_to_float)).astype("float64")
        elif all(isinstance(v, dt.date) for v in present):
            out[name] = pd.to_datetime(values).astype("datetime64[us]")
    return out


def _decimal_to_float(value: Any) -> float:
    return math.nan if value is None else float(value)


def staging_name(relation: Relation) -> str:
    return f"{relation.schema}.{relation.identifier}{STAGING_SUFFIX}"


def staging_sql(write: TableWrite, engine: str) -> list[str]:
    """Statements that create the empty staging table of ``write`` (replacing a leftover)."""
    staged = staging_name(write.relation)
    schema = "database" if engine == "spark" else "schema"
    return [
        f"create {schema} if not exists {write.relation.schema}",
        f"drop table if exists {staged}",
        create_table_sql(staged, column_kinds(write), engine),
    ]


def swap_sql(write: TableWrite, engine: str) -> list[str]:
    """Statements that put the staged table of ``write`` in place of the destination."""
    # Spark names the new table in full; the others rename within the schema
    new_name = write.relation.name if engine == "spark" else write.relation.identifier
    return [
        f"drop table if exists {write.relation.name}",
        f"alter table {staging_name(write.relation)} rename to {new_name}",
    ]


# -- PostgreSQL -------------------------------------------------------------------------------


class PostgresWarehouse:
    """A PostgreSQL database through psycopg2."""

    engine = "postgres"

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    @classmethod
    def connect(cls, credentials: Mapping[str, Any]) -> PostgresWarehouse:
        """Connect with the ``postgres`` target's credentials (host, port, user, …)."""
        import psycopg2  # optional: installed with dbt-postgres (make env-engines)

        return cls(
            psycopg2.connect(
                host=credentials.get("host"),
                port=int(credentials.get("port", 5432)),
                user=credentials.get("user"),
                password=credentials.get("password") or None,
                dbname=credentials.get("dbname") or credentials.get("database"),
            )
        )

    def query(self, sql: str) -> pd.DataFrame:
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(sql)
                names = [str(column[0]) for column in cursor.description]
                rows = cursor.fetchall()
        except Exception:
            self.connection.rollback()  # leave the connection usable after a failed read
            raise
        self.connection.rollback()  # reads only: end the transaction they opened
        return normalise_frame(pd.DataFrame(rows, columns=names))

    def replace_tables(self, writes: Sequence[TableWrite]) -> None:
        from psycopg2.extras import execute_values

        try:
            with self.connection.cursor() as cursor:
                for write in writes:
                    for statement in staging_sql(write, self.engine):
                        cursor.execute(statement)
                    rows = python_rows(write)
                    if rows:
                        insert = (
                            f"insert into {staging_name(write.relation)}"
                            f" ({', '.join(column_kinds(write))}) values %s"
                        )
                        execute_values(cursor, insert, rows, page_size=1000)
                for write in writes:
                    for statement in swap_sql(write, self.engine):
                        cursor.execute(statement)
            self.connection.commit()
        except Exception as error:
            self.connection.rollback()
            raise WarehouseError(
                f"writing the fit's tables failed, none changed: {error}"
            ) from error

    def close(self) -> None:
        self.connection.close()


# -- Spark ------------------------------------------------------------------------------------


class SparkWarehouse:
    """A Spark session (the ``spark`` target's settings: the same tables and metastore)."""

    engine = "spark"

    def __init__(self, session: Any) -> None:
        self.session = session

    @classmethod
    def open(cls, settings: Mapping[str, str]) -> SparkWarehouse:
        """A session with ``settings`` (the target's ``server_side_parameters``)."""
        from pyspark.sql import SparkSession  # optional: make env-engines

        builder = SparkSession.builder.enableHiveSupport()
        for key, value in settings.items():
            builder = builder.config(key, str(value))
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return cls(session)

    def query(self, sql: str) -> pd.DataFrame:
        frame = self.session.sql(sql)
        names = list(frame.columns)
        rows = [tuple(row) for row in frame.collect()]
        return normalise_frame(pd.DataFrame(rows, columns=names))

    def replace_tables(self, writes: Sequence[TableWrite]) -> None:
        try:
            for schema in sorted({write.relation.schema for write in writes}):
                self.session.sql(f"create database if not exists {schema}")
            # a few at a time: Spark runs the jobs of one session side by side
            with ThreadPoolExecutor(max_workers=SPARK_WRITE_THREADS) as pool:
                list(pool.map(self._stage, writes))
        except Exception as error:
            for write in writes:
                self.session.sql(f"drop table if exists {staging_name(write.relation)}")
            raise WarehouseError(
                f"staging the fit's tables failed, none changed: {error}"
            ) from error
        for write in writes:
            for statement in swap_sql(write, self.engine):
                self.session.sql(statement)

    def _stage(self, write: TableWrite) -> None:
        """Write the rows of ``write`` to its staging table, typed by that table's schema."""
        for statement in staging_sql(write, self.engine):
            self.session.sql(statement)
        rows = python_rows(write)
        if rows:
            staged = staging_name(write.relation)
            schema = self.session.table(staged).schema
            self.session.createDataFrame(rows, schema=schema).write.insertInto(staged)

    def close(self) -> None:
        self.session.stop()


# -- DuckDB -----------------------------------------------------------------------------------


class DuckDBWarehouse:
    """A DuckDB warehouse file (dbt runs the Python models there; the command can too)."""

    engine = "duckdb"

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    @classmethod
    def connect(cls, path: str) -> DuckDBWarehouse:
        import duckdb

        return cls(duckdb.connect(path))

    def query(self, sql: str) -> pd.DataFrame:
        return normalise_frame(self.connection.execute(sql).df())

    def replace_tables(self, writes: Sequence[TableWrite]) -> None:
        con = self.connection
        con.execute("begin transaction")
        try:
            for number, write in enumerate(writes):
                for statement in staging_sql(write, self.engine):
                    con.execute(statement)
                kinds = column_kinds(write)
                view = f"fit_rows_{number}"
                con.register(view, _frame_of(write, kinds))
                con.execute(
                    f"insert into {staging_name(write.relation)}"
                    f" select {', '.join(kinds)} from {view}"
                )
                con.unregister(view)
            for write in writes:
                for statement in swap_sql(write, self.engine):
                    con.execute(statement)
            con.execute("commit")
        except Exception as error:
            con.execute("rollback")
            raise WarehouseError(
                f"writing the fit's tables failed, none changed: {error}"
            ) from error

    def close(self) -> None:
        self.connection.close()


def _frame_of(write: TableWrite, kinds: Mapping[str, str]) -> pd.DataFrame:
    rows = python_rows(write)
    return pd.DataFrame.from_records(rows, columns=list(kinds)) if rows else write.rows[list(kinds)]

"""What the charts read: tables of the warehouse through one read-only connection.

Charts never read private state (pickles, caches, the engine's memory): only tables that
``dbt build`` wrote. The connection is read-only and closed when the charts are done, so a
chart run never blocks a later build.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from segmentation.errors import JobError

# Tables the charts read, by their place in the warehouse.
CANDIDATES = "ml.ml_model_candidates"
TRANSFORM_PARAMS = "ml.ml_feature_transform_params"
SEGMENT_MODEL = "ml.ml_segment_model"
REPRESENTATIVES = "ml.ml_segment_representatives"
ASSIGNMENTS = "ml.ml_customer_assignments"
FEATURES = "marts.fct_customer_features"
DIM_SEGMENTS = "marts.dim_segments"
CUSTOMER_RFM = "marts.fct_customer_rfm"

# Columns of dim_segments that may name a segment, best first (persona names when present).
NAME_COLUMNS: tuple[str, ...] = ("persona_name", "segment_name")


class ChartSkipped(Exception):
    """A chart cannot be drawn from what the warehouse holds; the message says why."""


class ChartSource:
    """Read-only queries against an open warehouse connection."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    def has_table(self, table: str) -> bool:
        """True when ``schema.name`` exists as a table or view."""
        schema, name = table.split(".")
        # fetchall: DuckDB 2 keeps a result that fetchone read from open
        found = self.connection.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
        return bool(found[0][0])

    def columns(self, table: str) -> tuple[str, ...]:
        """Column names of ``schema.name`` in table order (empty when it does not exist)."""
        schema, name = table.split(".")
        rows = self.connection.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, name],
        ).fetchall()
        return tuple(row[0] for row in rows)

    def missing(self, tables: Sequence[str]) -> list[str]:
        """The tables of ``tables`` that do not exist."""
        return [table for table in tables if not self.has_table(table)]

    def frame(self, sql: str, parameters: Sequence[object] | None = None) -> pd.DataFrame:
        """The result of a query as a DataFrame."""
        return self.connection.execute(sql, list(parameters or [])).df()

    def nonempty_frame(self, sql: str, what: str) -> pd.DataFrame:
        """Like :meth:`frame`, but a chart is skipped when the result has no rows."""
        result = self.frame(sql)
        if result.empty:
            raise ChartSkipped(f"{what} has no rows")
        return result


@contextmanager
def open_source(database: Path) -> Iterator[ChartSource]:
    """Open ``database`` read-only for the charts and close it afterwards."""
    if not database.exists():
        raise JobError(f"no warehouse at {database}: run `dbt build` (or `make run`) first")
    try:
        connection = duckdb.connect(str(database), read_only=True)
    except duckdb.IOException as error:
        raise JobError(
            f"cannot open {database} read-only ({error}); is a build still writing to it? "
            "`segmentation check-lock` names the holder"
        ) from error
    try:
        yield ChartSource(connection)
    finally:
        connection.close()


# -- data shared by several charts ----------------------------------------------------------


def segment_names(source: ChartSource) -> dict[int, str]:
    """Segment id -> display name from dim_segments (persona name when the table has one)."""
    if not source.has_table(DIM_SEGMENTS):
        return {}
    available = source.columns(DIM_SEGMENTS)
    names = [column for column in NAME_COLUMNS if column in available]
    if not names:
        return {}
    expression = f"coalesce({', '.join(names)})" if len(names) > 1 else names[0]
    rows = source.frame(f"select segment_id, {expression} as name from {DIM_SEGMENTS}")
    return {int(row.segment_id): str(row.name) for row in rows.itertuples() if row.name}


def model_settings(source: ChartSource) -> dict:
    """The kept model's effective segmentation settings (``settings_json``), or ``{}``."""
    if not source.has_table(SEGMENT_MODEL):
        return {}
    rows = source.frame(f"select settings_json from {SEGMENT_MODEL}")
    if rows.empty or rows.iloc[0, 0] is None:
        return {}
    return json.loads(rows.iloc[0, 0])


@dataclass(frozen=True)
class PreparedFeatures:
    """Customers in the model's prepared units with their segment.

    ``how`` says how the matrix was obtained: ``"sql_expression"`` when every used feature's
    stored SQL expression was re-applied in the warehouse, ``"recomputed"`` when the kept fit is
    not SQL-scorable (quantile scaler or PCA) and the columns were imputed, clipped and ln-ed as
    stored, then standardised here.
    """

    customer_ids: np.ndarray
    segment_ids: np.ndarray
    matrix: np.ndarray
    feature_names: tuple[str, ...]
    how: str


def prepared_features(source: ChartSource) -> PreparedFeatures:
    """Every assigned customer's prepared features, in customer_id order."""
    missing = source.missing([TRANSFORM_PARAMS, ASSIGNMENTS, FEATURES])
    if missing:
        raise ChartSkipped(f"{', '.join(missing)} does not exist yet")
    params = source.frame(
        f"select * from {TRANSFORM_PARAMS} where is_used order by feature_position"
    )
    if params.empty:
        raise ChartSkipped(f"{TRANSFORM_PARAMS} has no used feature")
    scorable = bool(params["is_sql_scorable"].all()) and params["sql_expression"].notna().all()
    if scorable:
        expressions = list(params["sql_expression"])
    else:
        expressions = [_unscaled_expression(row) for row in params.to_dict("records")]
    names = tuple(str(name) for name in params["feature_name"])
    selected = ", ".join(
        f"{expression} as prepared_{i}" for i, expression in enumerate(expressions)
    )
    rows = source.frame(
        f"select features.customer_id, assignments.segment_id, {selected} "
        f"from {FEATURES} as features inner join {ASSIGNMENTS} as assignments "
        "on features.customer_id = assignments.customer_id order by features.customer_id"
    )
    if rows.empty:
        raise ChartSkipped(f"{ASSIGNMENTS} has no rows")
    matrix = rows[[f"prepared_{i}" for i in range(len(names))]].to_numpy(dtype=float)
    if not scorable:
        spread = matrix.std(axis=0)
        matrix = (matrix - matrix.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    return PreparedFeatures(
        customer_ids=rows["customer_id"].to_numpy(),
        segment_ids=rows["segment_id"].to_numpy(dtype=int),
        matrix=matrix,
        feature_names=names,
        how="sql_expression" if scorable else "recomputed",
    )


def seeded_sample(n_rows: int, size: int, random_state: int) -> np.ndarray:
    """Sorted row positions of a seeded sample of at most ``size`` rows (all when fewer)."""
    if n_rows <= size:
        return np.arange(n_rows)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n_rows, size=size, replace=False))


def _unscaled_expression(row: dict) -> str:
    """Imputation, clipping and ln as stored for one feature, without the (unstored) scaling."""
    expression = str(row["feature_name"])
    if row["imputation_rule"] == "column":
        expression = f"coalesce({expression}, {row['imputation_column']})"
    elif row["imputation_rule"] == "constant":
        expression = f"coalesce({expression}, {_number(row['imputation_value'])})"
    if _present(row["clip_lower"]):
        expression = (
            f"least(greatest({expression}, {_number(row['clip_lower'])}), "
            f"{_number(row['clip_upper'])})"
        )
    if bool(row["is_log1p"]):
        expression = f"ln(1 + {expression})"
    return f"cast({expression} as double)"


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _number(value: object) -> str:
    return repr(float(value))

"""Reading what ``dbt.ref()`` returns into pandas, whatever the adapter hands over.

dbt-duckdb returns a DuckDB relation; other adapters return Spark, Snowpark or pandas frames,
and tests pass pandas or Arrow tables. The Python models call :func:`to_pandas` only, so they are
not tied to DuckDB.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def to_pandas(relation: Any) -> pd.DataFrame:
    """A pandas DataFrame with the rows of ``relation``.

    Accepts a pandas DataFrame (returned as a copy), a DuckDB relation, a PyArrow table, or any
    object with ``to_pandas()`` / ``toPandas()`` / ``df()`` (Snowpark, Polars, Spark).
    """
    if isinstance(relation, pd.DataFrame):
        return relation.copy()
    for method in ("df", "to_pandas", "toPandas", "to_df"):
        convert = getattr(relation, method, None)
        if callable(convert):
            frame = convert()
            if isinstance(frame, pd.DataFrame):
                return frame
    raise TypeError(
        f"cannot turn {type(relation).__module__}.{type(relation).__name__} into a pandas "
        "DataFrame (expected a pandas, DuckDB, Arrow, Polars, Spark or Snowpark object)"
    )


def existing_rows(session: Any, relation: Any) -> pd.DataFrame | None:
    """The rows ``relation`` (a model's ``dbt.this``) holds before this build replaces them.

    None when the table does not exist yet (the first build). ``session`` is what dbt-duckdb
    hands a Python model (a DuckDB connection); any object whose ``sql()`` result
    :func:`to_pandas` reads will do (a Snowpark or Spark session too).
    """
    try:
        return to_pandas(session.sql(f"select * from {relation}"))
    except Exception as error:  # each adapter raises its own "no such table" error
        if _is_missing_table(error):
            return None
        raise


def _is_missing_table(error: Exception) -> bool:
    text = f"{type(error).__name__}: {error}".lower()
    # DuckDB, Postgres, Snowflake; Spark says "[TABLE_OR_VIEW_NOT_FOUND] … cannot be found"
    return any(
        word in text
        for word in ("catalogexception", "does not exist", "not found", "table_or_view_not_found")
    )

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

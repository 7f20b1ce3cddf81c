"""dbt_io.to_pandas: whatever dbt.ref() returns becomes a pandas DataFrame."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from segmentation.io.dbt_io import existing_rows, to_pandas

EXPECTED = pd.DataFrame({"customer_id": ["a", "b"], "monetary_amount": [1.5, 2.0]})


def test_pandas_is_copied() -> None:
    frame = to_pandas(EXPECTED)
    frame.loc[0, "monetary_amount"] = 99.0
    assert EXPECTED.loc[0, "monetary_amount"] == 1.5


def test_duckdb_relation() -> None:
    con = duckdb.connect()
    relation = con.sql(
        "select 'a' as customer_id, 1.5 as monetary_amount union all select 'b', 2.0"
    )
    frame = to_pandas(relation.order("customer_id"))
    assert frame["customer_id"].tolist() == ["a", "b"]
    assert frame["monetary_amount"].tolist() == [1.5, 2.0]


def test_arrow_table() -> None:
    frame = to_pandas(pa.Table.from_pandas(EXPECTED))
    pd.testing.assert_frame_equal(frame, EXPECTED, check_dtype=False)


def test_unknown_object_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="cannot turn builtins.list into a pandas DataFrame"):
        to_pandas([1, 2, 3])


def test_existing_rows_reads_a_table_and_is_none_before_the_first_build() -> None:
    con = duckdb.connect()
    con.execute("create schema ml")
    assert existing_rows(con, '"memory"."ml"."ml_seed_agreement"') is None
    con.execute("create table ml.ml_seed_agreement as select 1 as seed, 'k' as evaluation_key")
    frame = existing_rows(con, '"memory"."ml"."ml_seed_agreement"')
    assert frame is not None and frame.to_dict("records") == [{"seed": 1, "evaluation_key": "k"}]


def test_existing_rows_raises_other_errors() -> None:
    con = duckdb.connect()
    with pytest.raises(duckdb.Error):
        existing_rows(con, "(select 1 +) as broken")


class _SessionRaising:
    """A session whose every query fails with ``error`` (as a warehouse client would)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def sql(self, query: str) -> object:
        raise self.error


class AnalysisException(Exception):
    """Named like pyspark's, whose message says the table cannot be found."""


@pytest.mark.parametrize(
    "error",
    [
        AnalysisException(
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `ml`.`ml_registry_runs` cannot be "
            "found. Verify the spelling and correctness of the schema and catalog."
        ),
        RuntimeError('relation "ml.ml_registry_runs" does not exist'),
    ],
)
def test_existing_rows_is_none_when_spark_or_postgres_say_the_table_is_missing(error) -> None:
    assert existing_rows(_SessionRaising(error), "ml.ml_registry_runs") is None


def test_existing_rows_raises_a_spark_error_about_something_else() -> None:
    error = AnalysisException("[UNRESOLVED_COLUMN] A column `x` cannot be resolved.")
    with pytest.raises(AnalysisException):
        existing_rows(_SessionRaising(error), "ml.ml_registry_runs")

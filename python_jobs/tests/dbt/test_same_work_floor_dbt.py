"""The benchmark's same-work floor against the feature mart of a real build.

The floor (segmentation/benchmark/same_work_floor.sql) must give exactly the rows of
``marts.fct_customer_features``, or its ratio means nothing: on the demo they agree, and a
formula changed on one side only (in the floor's SQL, or in the mart's table) fails the check
naming the column. tests/dbt/test_pipeline_dbt.py checks the floor on the real log's build.
"""

from __future__ import annotations

import json

import duckdb
import pytest
from helpers import REPO_ROOT

from segmentation.benchmark import references
from segmentation.benchmark.floor import (
    FEATURE_MART,
    FloorMismatch,
    FloorSettings,
    FloorSources,
    check_floor_equals_mart,
    compare_with_mart,
    floor_sql,
    floor_template,
)

pytestmark = pytest.mark.dbt


def _floor(template: str | None = None) -> str:
    """The floor's query on the warehouse's tables, default vars, as a relation."""
    return f"({floor_sql(FloorSources.warehouse(), FloorSettings(), template)})"


def _changed(old: str, new: str) -> str:
    """The floor's SQL with one piece of text replaced (which must be there)."""
    template = floor_template()
    assert template.count(old) == 1, old
    return template.replace(old, new)


def test_floor_equals_the_feature_mart_on_the_demo(demo_build):
    with duckdb.connect(str(demo_build.database), read_only=True) as con:
        comparison = check_floor_equals_mart(con, _floor())
        customers = con.execute(f"select count(*) from {FEATURE_MART}").fetchall()[0][0]
    assert comparison.ok and comparison.floor_customers == comparison.mart_customers == customers
    assert customers > 1000


@pytest.mark.parametrize(
    ("old", "new", "column"),
    [
        # one feature's formula
        (
            "orders.monetary_amount / orders.frequency_orders as avg_order_value",
            "orders.monetary_amount / (orders.frequency_orders + 1) as avg_order_value",
            "avg_order_value",
        ),
        # the netting: a cancellation takes back the oldest purchases first
        (
            "purchases.invoiced_at desc,",
            "purchases.invoiced_at asc,",
            "cancellation_rate",
        ),
        # the netting: a cancellation's units count twice
        ("-quantity as units", "-2 * quantity as units", "cancellation_rate"),
    ],
    ids=["avg_order_value", "netting_order", "netting_units"],
)
def test_a_floor_changed_on_its_side_only_fails_naming_the_column(
    demo_build, old: str, new: str, column: str
):
    with duckdb.connect(str(demo_build.database), read_only=True) as con:
        comparison = compare_with_mart(con, _floor(_changed(old, new)))
        with pytest.raises(FloorMismatch, match=column):
            check_floor_equals_mart(con, _floor(_changed(old, new)))
    assert column in comparison.columns()
    if column == "avg_order_value":
        assert comparison.columns() == [column]  # nothing else moved


def test_a_mart_changed_on_its_side_only_fails_naming_column_and_customer(demo_copy, tmp_path):
    with duckdb.connect(str(demo_copy.database)) as con:
        customer = con.execute(f"select min(customer_id) from {FEATURE_MART}").fetchall()[0][0]
        con.execute(
            f"update {FEATURE_MART} set evening_order_share = evening_order_share + 0.01 "
            "where customer_id = ?",
            [customer],
        )
    with (
        duckdb.connect(str(demo_copy.database), read_only=True) as con,
        pytest.raises(FloorMismatch) as raised,
    ):
        check_floor_equals_mart(con, _floor())
    message = str(raised.value)
    assert f"evening_order_share: 1 customer (customer {customer!r}: floor" in message
    assert message.count("\n- ") == 1  # that column only
    # the bench's timed floor query reports it (runner.py then stops with it)
    out = tmp_path / "floor-query.json"
    database = ["--database", str(demo_copy.database), "--project-dir", str(REPO_ROOT)]
    assert references.main(["floor-query", *database, "--json-out", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["query_seconds"] > 0 and figures["mismatch"] == message

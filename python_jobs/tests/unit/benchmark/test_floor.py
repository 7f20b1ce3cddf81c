"""The same-work floor on small data: its rules on a hand-made log, its settings from the vars,
and the comparison with the mart on small tables. tests/dbt/test_same_work_floor_dbt.py checks
it against the feature mart of a real build."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import REPO_ROOT

from segmentation.benchmark.floor import (
    FLOOR_SQL_FILE,
    FloorMismatch,
    FloorSettings,
    FloorSettingsError,
    FloorSources,
    check_floor_equals_mart,
    compare_with_mart,
    floor_sql,
)
from segmentation.benchmark.references import run_floor

# -- the rules, on a hand-made log --------------------------------------------------------------

T = pd.Timestamp
# (invoice, stock code, quantity, unit price, invoiced at, customer, country)
LOG = [
    ("1", "a ", 2, 1.0, T("2024-01-01 10:00"), " c1 ", "UK"),  # code and id trimmed
    ("1", "a ", 2, 1.0, T("2024-01-01 10:00"), " c1 ", "UK"),  # duplicate: left out
    ("1", "POST", 1, 5.0, T("2024-01-01 10:00"), "c1", "UK"),  # postage: not a product
    ("2", "A", 3, 1.0, T("2024-01-11 19:00"), "c1", "UK"),  # all taken back below
    ("C3", "A", -4, 1.0, T("2024-01-12 09:00"), "c1", "UK"),  # 3 units of order 2, 1 of 1
    ("4", "X", 5, 2.0, T("2024-01-20 12:00"), "c1", "UK"),  # a Saturday
    ("5", "A", 1, 2.0, T("2024-01-20 12:00"), "c2", " "),  # one order, no country
    ("6", "A", 1, 2.0, T("2024-01-02 12:00"), "c3", "UK"),  # bought and cancelled:
    ("C7", "A", -1, 2.0, T("2024-01-03 12:00"), "c3", "UK"),  # no kept order, no row
    ("8", "A", 9, 1.0, T("2024-01-25 12:00"), None, "UK"),  # no customer; sets the as-of date
]


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory):
    """The hand-made log as a Parquet file in the contract's columns."""
    frame = pd.DataFrame(
        LOG,
        columns=[
            "invoice_id", "stock_code", "quantity", "unit_price", "invoiced_at", "customer_id",
            "country",
        ],
    )  # fmt: skip
    frame.insert(2, "description", "thing")
    path = tmp_path_factory.mktemp("floor") / "log.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def _floor_rows(log_file, settings: FloorSettings | None = None) -> dict[str, dict]:
    sql = floor_sql(FloorSources.log_file(log_file, REPO_ROOT), settings or FloorSettings())
    frame = duckdb.sql(sql).df()
    return {row["customer_id"]: row for row in frame.to_dict("records")}


def test_floor_cleans_dedupes_leaves_out_non_products_and_nets_cancellations(log_file):
    rows = _floor_rows(log_file)
    assert sorted(rows) == ["c1", "c2"]
    c1 = rows["c1"]
    # kept orders: 1 (2 units, 1 taken back: 1.0) and 4 (10.0); order 2 was taken back whole
    assert c1["frequency_orders"] == 2 and c1["monetary_amount"] == pytest.approx(11.0)
    assert c1["avg_order_value"] == pytest.approx(5.5)
    assert c1["avg_items_per_order"] == pytest.approx(3.0)
    assert c1["avg_unit_price"] == pytest.approx(11 / 6)
    assert c1["cancellation_rate"] == pytest.approx(4 / 10)  # of 2 + 3 + 5 purchased units
    assert c1["distinct_products"] == 2  # A (one unit kept) and X
    assert c1["as_of_date"] == T("2024-01-26")  # the day after the last line, any line
    assert c1["recency_days"] == 6 and c1["tenure_days"] == 25
    assert c1["mean_days_between_orders"] == pytest.approx(19.0)
    assert c1["weekend_order_share"] == pytest.approx(0.5)
    assert c1["evening_order_share"] == 0.0  # the evening order was cancelled
    assert c1["primary_country"] == "UK" and c1["country_count"] == 1
    assert c1["active_months"] == 1 and c1["q4_revenue_share"] == 0.0
    c2 = rows["c2"]
    assert pd.isna(c2["primary_country"]) and pd.isna(c2["mean_days_between_orders"])


def test_floor_follows_the_as_of_date_and_the_evening_hour(log_file):
    rows = _floor_rows(log_file, FloorSettings(dt.date(2024, 1, 15), evening_start_hour=10))
    assert sorted(rows) == ["c1"]  # c2's only order is after the as-of date
    c1 = rows["c1"]
    assert c1["as_of_date"] == T("2024-01-15")
    assert c1["frequency_orders"] == 1 and c1["recency_days"] == 14
    assert c1["evening_order_share"] == 1.0  # 10:00 is evening from 10 on


def test_floor_end_to_end_fits_one_kmeans_on_its_features(log_file):
    figures = run_floor(log_file, REPO_ROOT, FloorSettings())
    assert figures["customers"] == 2 and figures["query_seconds"] > 0


def test_floor_sql_ships_with_the_package_and_names_every_placeholder():
    text = resources.files("segmentation.benchmark").joinpath(FLOOR_SQL_FILE).read_text()
    for name in (
        "transactions", "non_product_stock_codes", "input_capabilities", "as_of_date",
        "evening_start_hour",
    ):  # fmt: skip
        assert f"--   ${name}" in text, name  # explained in the header


def test_settings_follow_the_vars_and_the_environment():
    assert FloorSettings.from_project(REPO_ROOT, None, {}) == FloorSettings(None, 18)
    vars_text = "{as_of_date: 2011-06-01, evening_start_hour: 17}"
    assert FloorSettings.from_project(REPO_ROOT, vars_text, {}) == FloorSettings(
        dt.date(2011, 6, 1), 17
    )
    from_env = FloorSettings.from_project(REPO_ROOT, None, {"SEGMENTS_AS_OF_DATE": "2011-07-01"})
    assert from_env.as_of_date == dt.date(2011, 7, 1)
    with pytest.raises(FloorSettingsError, match="engagement_feature_role"):
        FloorSettings.from_project(REPO_ROOT, "{engagement_feature_role: define}", {})
    with pytest.raises(FloorSettingsError, match="categorical_attributes"):
        FloorSettings.from_project(
            REPO_ROOT, "{segmentation: {categorical_attributes: {household: 1}}}", {}
        )
    with pytest.raises(FloorSettingsError, match="evening_start_hour"):
        FloorSettings.from_project(REPO_ROOT, "{evening_start_hour: 25}", {})


# -- the comparison, on small tables -----------------------------------------------------------


@pytest.fixture
def con():
    """Two small feature tables that agree: ``mart`` and ``floor``."""
    with duckdb.connect() as connection:
        connection.execute(
            "create table mart as select * from (values"
            " ('a', 1.5::double, 2::bigint, 'UK'), ('b', null, 3, null), ('c', 1e-12, 4, 'FR'))"
            " as t(customer_id, share, orders, country)"
        )
        connection.execute("create table floor as select * from mart")
        yield connection


def test_equal_tables_pass_and_floats_may_differ_in_the_last_bits(con):
    con.execute("update floor set share = share * (1 + 1e-12) where customer_id = 'a'")
    con.execute("update floor set share = 2e-12 where customer_id = 'c'")  # absolutely close
    comparison = check_floor_equals_mart(con, "floor", "mart")
    assert comparison.ok and comparison.mart_customers == 3
    assert comparison.message() == "the same-work floor equals mart (3 customers)"


def test_a_changed_value_fails_naming_column_customer_and_both_values(con):
    con.execute("update floor set share = 1.6 where customer_id = 'a'")
    con.execute("update floor set share = 0 where customer_id = 'b'")  # NULL in the mart
    con.execute("update floor set country = 'DE' where customer_id = 'c'")
    comparison = compare_with_mart(con, "floor", "mart")
    assert comparison.columns() == ["share", "country"]
    message = comparison.message()
    assert "customer 'a': floor 1.6, mart 1.5" in message
    assert "customer 'b': floor 0.0, mart NULL" in message
    assert "country: 1 customer (customer 'c': floor 'DE', mart 'FR')" in message
    with pytest.raises(FloorMismatch, match=r"(?s)differs from mart.*share.*country"):
        check_floor_equals_mart(con, "floor", "mart")


def test_missing_repeated_and_extra_customers_and_columns_fail(con):
    con.execute("delete from floor where customer_id = 'b'")
    con.execute("insert into floor values ('d', 1.0, 1, 'UK'), ('a', 1.5, 2, 'UK')")
    con.execute("alter table floor add column extra integer")
    con.execute("alter table floor alter orders type integer")
    columns = compare_with_mart(con, "floor", "mart").columns()
    assert columns[:2] == ["column list", "customer_id repeated in the floor"]
    assert "customer set (only in the floor)" in columns
    assert "customer set (only in the mart)" in columns
    message = compare_with_mart(con, "floor", "mart").message()
    assert "extra not in the mart" in message and "orders is INTEGER, not BIGINT" in message

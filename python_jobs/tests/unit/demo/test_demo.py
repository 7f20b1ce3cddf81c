"""Tests of the demo-data generator (segmentation.demo) and its CLI job."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from helpers import scalar
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import StandardScaler

from segmentation import cli, demo
from segmentation.demo import ARCHETYPE_NAMES, NON_PRODUCTS, DemoConfig, generate_chunks
from segmentation.demo import context as demo_context
from segmentation.io.contract import ARCHETYPE_COLUMNS, TRANSACTION_COLUMNS

SMALL = DemoConfig(customers=300, months=25, seed=7)
PRODUCT_CODE = re.compile(r"^\d{5}[A-Z]?$")


def generate(config: DemoConfig) -> tuple[pa.Table, pa.Table]:
    """The whole (small) log and archetype table of a configuration."""
    chunks = list(generate_chunks(config))
    return (
        pa.concat_tables([t for t, _ in chunks]),
        pa.concat_tables([a for _, a in chunks]),
    )


def ipc_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


@pytest.fixture(scope="module")
def small() -> tuple[pa.Table, pa.Table]:
    return generate(SMALL)


@pytest.fixture(scope="module")
def lines(small) -> pd.DataFrame:
    return small[0].to_pandas()


@pytest.fixture(scope="module")
def truth(small) -> pd.DataFrame:
    return small[1].to_pandas()


@pytest.fixture(scope="module")
def con(small) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.register("t", small[0])
    connection.register("a", small[1])
    return connection


# ---------------------------------------------------------------------------- determinism


def test_same_seed_and_size_give_byte_identical_tables(small):
    again = generate(SMALL)
    assert ipc_bytes(again[0]) == ipc_bytes(small[0])
    assert ipc_bytes(again[1]) == ipc_bytes(small[1])


def test_different_seed_gives_different_data(small):
    other = generate(DemoConfig(customers=SMALL.customers, months=SMALL.months, seed=8))[0]
    assert other.num_rows != small[0].num_rows or not other.equals(small[0])
    # Not just a relabelling: the content differs.
    assert other["quantity"].to_numpy().sum() != small[0]["quantity"].to_numpy().sum()
    assert other["source_file"][0].as_py() == "demo://seed=8"


# ---------------------------------------------------------------------------- contract


def test_columns_and_types_follow_the_contract(small):
    transactions, archetypes = small
    assert transactions.schema.names == list(TRANSACTION_COLUMNS)
    assert archetypes.schema.names == list(ARCHETYPE_COLUMNS)
    connection = duckdb.connect()
    connection.register("t", transactions)
    connection.register("a", archetypes)
    for view, columns in (("t", TRANSACTION_COLUMNS), ("a", ARCHETYPE_COLUMNS)):
        described = connection.execute(f"describe select * from {view}").fetchall()
        assert [(name, sql_type) for name, sql_type, *_ in described] == list(columns.items())


def test_source_rows_are_numbered_from_one(lines):
    assert (lines["source_file"] == SMALL.source_file).all()
    assert lines["source_row"].tolist() == list(range(1, len(lines) + 1))


def test_window_dates_and_partial_last_month():
    config = DemoConfig(customers=120, months=3, seed=3, end_date=dt.date(2026, 3, 10))
    table, _ = generate(config)
    times = table["invoiced_at"].to_pandas()
    assert times.min() >= pd.Timestamp("2026-01-01")
    assert times.max() < pd.Timestamp("2026-03-11")
    assert set(times.dt.month) == {1, 2, 3}
    assert config.start_date == dt.date(2026, 1, 1)


def test_default_window_spans_the_configured_months(lines):
    months = lines["invoiced_at"].dt.to_period("M")
    assert months.nunique() == SMALL.months
    assert months.max() == pd.Period(SMALL.end_date, "M")
    assert lines["invoiced_at"].min() >= pd.Timestamp(SMALL.start_date)


# ---------------------------------------------------------------------------- size


def test_size_scales_with_customers():
    small_rows = generate(DemoConfig(customers=200, seed=5))[0].num_rows
    double_rows = generate(DemoConfig(customers=400, seed=5))[0].num_rows
    assert 60 * 200 < small_rows < 160 * 200
    assert 1.6 < double_rows / small_rows < 2.5


def test_size_scales_with_months():
    long = generate(DemoConfig(customers=300, months=24, seed=5))[0].num_rows
    short = generate(DemoConfig(customers=300, months=6, seed=5))[0].num_rows
    assert short < 0.6 * long


def test_default_size_is_about_100_lines_per_customer():
    rows = invoices = 0
    for table, _ in generate_chunks(DemoConfig()):
        rows += table.num_rows
        invoices += len(set(table["invoice_id"].to_pylist()))
    assert 400_000 < rows < 650_000
    assert 8 < rows / invoices < 20


# ---------------------------------------------------------------------------- invoices


def test_invoice_numbers_grow_with_time_across_chunks(monkeypatch):
    monkeypatch.setattr(demo_context, "CHUNK_CUSTOMERS", 70)  # several chunks for a small log
    table, truth = generate(DemoConfig(customers=300, months=12, seed=11))
    frame = table.to_pandas()
    assert frame["source_row"].is_unique
    assert truth.num_rows == 300 and len(set(truth["customer_id"].to_pylist())) == 300
    per_invoice = frame.groupby("invoice_id").agg(
        times=("invoiced_at", "nunique"),
        customers=("customer_id", lambda s: s.nunique(dropna=False)),
        day=("invoiced_at", "min"),
    )
    assert (per_invoice["times"] == 1).all()
    assert (per_invoice["customers"] == 1).all()
    number = per_invoice.index.str.lstrip("CA").astype(int)
    days = per_invoice["day"].dt.normalize().to_numpy()[np.argsort(number)]
    assert (np.diff(days.astype("int64")) >= 0).all()
    assert number.is_unique
    assert number.min() == demo.FIRST_INVOICE_NUMBER


def test_invoice_ids_look_like_the_real_log(lines):
    assert lines["invoice_id"].str.fullmatch(r"[CA]?\d{6,7}").all()
    purchases = lines[~lines["invoice_id"].str.startswith(("C", "A"))]
    assert 8 <= purchases.groupby("invoice_id").size().mean() <= 25


# ---------------------------------------------------------------------------- quirks


def test_cancellations_are_negative_and_common(con):
    cancelled = scalar(con, "select count(distinct invoice_id) from t where invoice_id like 'C%'")
    invoices = scalar(con, "select count(distinct invoice_id) from t")
    assert 0.03 < cancelled / invoices < 0.25
    assert scalar(con, "select count(*) from t where invoice_id like 'C%' and quantity >= 0") == 0


def test_bad_debt_adjustments(con):
    rows = con.execute(
        "select stock_code, description, unit_price from t where invoice_id like 'A%'"
    ).fetchall()
    assert len(rows) >= 1
    assert {code for code, _, _ in rows} == {"B"}
    assert any(price < 0 for _, _, price in rows)


def test_guest_rows_without_customer_id(lines):
    share = lines["customer_id"].isna().mean()
    assert 0.15 < share < 0.30


def test_non_product_codes(lines):
    codes = set(lines["stock_code"])
    assert {"POST", "DOT", "M", "D"} <= codes
    non_product = {c for c in codes if not PRODUCT_CODE.match(c)}
    gifts = {c for c in non_product if c.startswith("gift_0001_")}
    assert non_product - gifts <= set(NON_PRODUCTS)
    assert gifts, "gift vouchers should appear"
    assert (lines["stock_code"].isin(non_product)).sum() > 100
    assert (lines["description"].str.upper() == lines["description"]).mean() > 0.95


def test_zero_prices_and_stock_adjustments(con):
    assert scalar(con, "select count(*) from t where unit_price = 0") > 10
    adjustments = scalar(
        con,
        "select count(*) from t where quantity < 0 and invoice_id not like 'C%' "
        "and customer_id is null and unit_price = 0",
    )
    assert adjustments > 0


def test_exact_duplicate_lines(con):
    columns = ", ".join(c for c in TRANSACTION_COLUMNS if c != "source_row")
    duplicated = scalar(
        con,
        f"select count(*) from (select {columns} from t group by all having count(*) > 1)",
    )
    rows = scalar(con, "select count(*) from t")
    assert 0.001 * rows < duplicated < 0.03 * rows


def test_a_handful_of_customers_in_two_countries(con):
    movers = scalar(
        con,
        "select count(*) from (select customer_id from t where customer_id is not null "
        "group by 1 having count(distinct country) > 1)",
    )
    assert 1 <= movers <= 10


def test_united_kingdom_dominates(lines):
    countries = lines["country"].value_counts(normalize=True)
    assert countries.index[0] == "United Kingdom"
    assert 0.7 < countries.iloc[0] < 0.97
    assert lines["country"].nunique() >= 5


def test_huge_order_reversed_by_matching_negative_line(con):
    pairs = con.execute(
        """
        select o.invoice_id, c.invoice_id, o.quantity
        from t as o
        join t as c on c.customer_id = o.customer_id and c.invoice_id like 'C%'
        where o.quantity >= 50000
            and c.quantity = -o.quantity
            and c.stock_code = o.stock_code
            and c.unit_price = o.unit_price
            and c.invoiced_at > o.invoiced_at
            and c.invoiced_at <= o.invoiced_at + interval 1 hour
        """
    ).fetchall()
    assert len(pairs) >= 1
    # The first such customer's whole history is that pair, like customer 12346 of the real log.
    whole = con.execute(
        """
        select customer_id from t where customer_id is not null
        group by 1 having count(*) = 2 and sum(quantity) = 0 and max(quantity) >= 50000
        """
    ).fetchall()
    assert len(whole) >= 1


def test_november_peak_and_christmas_closure(lines):
    by_month = lines.groupby(lines["invoiced_at"].dt.month)["invoice_id"].nunique()
    per_occurrence = by_month / lines.groupby(lines["invoiced_at"].dt.month)["invoiced_at"].apply(
        lambda s: s.dt.year.nunique()
    )
    assert per_occurrence.idxmax() == 11
    days = lines["invoiced_at"].dt
    closed = ((days.month == 12) & (days.day >= 24)) | ((days.month == 1) & (days.day <= 3))
    assert not closed.any()


# ---------------------------------------------------------------------------- archetypes


def test_every_archetype_present_once_per_customer(lines, truth):
    assert set(truth["archetype"]) == set(ARCHETYPE_NAMES)
    assert truth["customer_id"].is_unique
    assert truth["customer_id"].str.fullmatch(r"\d{5}").all()
    assert set(truth["customer_id"]) == set(lines["customer_id"].dropna())
    assert len(truth) == SMALL.customers


def customer_features(con: duckdb.DuckDBPyConnection, end: dt.date) -> pd.DataFrame:
    """RFM plus behaviour per customer, with the planted archetype."""
    return con.execute(
        f"""
        with p as (
            select * from t
            where customer_id is not null and quantity > 0
                and regexp_matches(stock_code, '^[0-9]{{5}}')
        )
        select
            customer_id,
            any_value(a.archetype) as archetype,
            date_diff('day', max(invoiced_at), date '{end}') as recency,
            date_diff('day', min(invoiced_at), date '{end}') as tenure,
            count(distinct invoice_id) as frequency,
            sum(quantity * unit_price) as monetary,
            count(*) / count(distinct invoice_id) as lines_per_order,
            median(unit_price) as price,
            median(quantity) as quantity,
            avg((month(invoiced_at) in (10, 11, 12))::int) as q4_share,
            avg((hour(invoiced_at) >= 18)::int) as evening_share,
            avg((dayofweek(invoiced_at) in (0, 6))::int) as weekend_share
        from p join a using (customer_id)
        group by customer_id
        """
    ).df()


def test_archetypes_behave_differently(con):
    features = customer_features(con, SMALL.end_date)
    by = features.groupby("archetype").median(numeric_only=True)
    assert by.loc["wholesale", "quantity"] > 4 * by.loc["frequent_low_basket", "quantity"]
    assert by.loc["wholesale", "monetary"] == by["monetary"].max()
    assert by.loc["frequent_low_basket", "frequency"] == by["frequency"].max()
    assert by.loc["frequent_low_basket", "lines_per_order"] == by["lines_per_order"].min()
    any_evening = (features["evening_share"] > 0).groupby(features["archetype"]).mean()
    assert any_evening.idxmax() == "frequent_low_basket"
    assert any_evening["frequent_low_basket"] > 0.25
    assert by.loc["seasonal_gift_buyer", "q4_share"] > 0.8
    assert by.loc["seasonal_gift_buyer", "weekend_share"] > 0.3
    assert by.loc["loyal_high_value", "price"] > by.loc["frequent_low_basket", "price"]
    assert by.loc["new_customer", "tenure"] <= 91
    assert by.loc["lapsed", "recency"] > 200
    assert by.loc["loyal_high_value", "recency"] < 60
    one_time = features[features["archetype"] == "one_time_buyer"]
    assert (one_time["frequency"] == 1).all()


def test_clustering_recovers_archetypes(con):
    features = customer_features(con, SMALL.end_date)
    x = features.drop(columns=["customer_id", "archetype"]).astype(float)
    for column in ("recency", "tenure", "frequency", "lines_per_order", "price", "quantity"):
        x[column] = np.log1p(x[column])
    x["monetary"] = np.sign(x["monetary"]) * np.log1p(x["monetary"].abs())
    scaled = StandardScaler().fit_transform(x)
    labels = KMeans(n_clusters=len(ARCHETYPE_NAMES), n_init=10, random_state=0).fit_predict(scaled)
    assert adjusted_rand_score(features["archetype"], labels) > 0.4


# ---------------------------------------------------------------------------- writing


def test_write_demo_replaces_and_refuses_duplicate_appends():
    con = duckdb.connect()
    config = DemoConfig(customers=60, months=4, seed=1)
    first = demo.write_demo(con, config)
    second = demo.write_demo(con, config)
    assert first == second
    assert scalar(con, "select count(*) from raw.transactions") == first.rows
    assert scalar(con, "select count(*) from raw.customer_archetypes") == 60
    assert scalar(con, "select count(distinct invoice_id) from raw.transactions") == first.invoices
    leftovers = scalar(
        con, "select count(*) from information_schema.tables where table_name like 'demo_%'"
    )
    assert leftovers == 0
    with pytest.raises(ValueError, match="demo://seed=1"):
        demo.write_demo(con, config, replace=False)
    other = demo.write_demo(con, DemoConfig(customers=60, months=4, seed=2), replace=False)
    assert scalar(con, "select count(*) from raw.transactions") == first.rows + other.rows


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customers": 0}, "customers"),
        ({"months": 0}, "months"),
        ({"seed": -1}, "seed"),
        ({"end_date": "2026-09-30"}, "end_date"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DemoConfig(**kwargs)


# ---------------------------------------------------------------------------- CLI job


def test_cli_job_end_to_end_and_if_empty(tmp_path: Path, capsys):
    database = tmp_path / "demo.duckdb"
    args = ["demo", "--customers", "80", "--months", "4", "--database", str(database)]
    assert cli.main([*args, "--seed", "3", "--end-date", "2026-06-15"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"wrote [\d,]+ rows, 80 customers, [\d,]+ invoices .* s ", out), out

    with duckdb.connect(str(database), read_only=True) as check:
        rows, latest = check.execute(
            "select count(*), max(invoiced_at) from raw.transactions"
        ).fetchall()[0]
        seeds = check.execute("select distinct source_file from raw.transactions").fetchall()
    assert rows > 0 and latest.date() <= dt.date(2026, 6, 15)
    assert seeds == [("demo://seed=3",)]

    assert cli.main([*args, "--seed", "4", "--if-empty"]) == 0
    assert "nothing generated" in capsys.readouterr().out
    with duckdb.connect(str(database), read_only=True) as check:
        assert check.execute("select count(*) from raw.transactions").fetchall()[0][0] == rows
        seeds = check.execute("select distinct source_file from raw.transactions").fetchall()
    assert seeds == [("demo://seed=3",)]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--customers", "0", "--customers must be at least 1"),
        ("--months", "-2", "--months must be at least 1"),
        ("--end-date", "2026-13-01", "--end-date must be a date"),
    ],
)
def test_cli_job_rejects_bad_arguments(tmp_path: Path, capsys, option, value, message):
    database = tmp_path / "never.duckdb"
    assert cli.main(["demo", option, value, "--database", str(database)]) == 2
    assert message in capsys.readouterr().err
    assert not database.exists()

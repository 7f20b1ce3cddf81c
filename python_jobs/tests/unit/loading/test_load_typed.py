"""Typed Parquet input: columns that already have the contract's type skip the text parsing
but not the checks. They load exactly what the same values written as text load, with the
same reasons for rejected rows; large units read in place load like small copied ones."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import UCI_HEADER

from segmentation.loading import LoadError, LoadOptions, load_path, parsing

MAPPING = {
    "invoice_id": "invoice",
    "stock_code": "sku",
    "quantity": "qty",
    "unit_price": "price",
    "invoiced_at": "at",
    "customer_id": "client",
    "country": "market",
}
# The required columns alone (no invoice, stock code or country).
REQUIRED_ONLY = {
    "customer_id": "client",
    "invoiced_at": "at",
    "quantity": "qty",
    "unit_price": "price",
}
TRANSACTION_FIELDS = (
    "invoice_id, stock_code, description, quantity, unit_price, invoiced_at, customer_id, "
    "country, source_row"
)


@pytest.fixture(params=["copied", "in place"])
def stage_mode(request, monkeypatch) -> str:
    """Run a test with small units copied into the stage and with every unit read in place."""
    if request.param == "in place":
        monkeypatch.setattr(parsing, "IN_PLACE_ROWS", 0)
    return request.param


def options(columns: dict[str, str] | None = None, **extra) -> LoadOptions:
    return LoadOptions(columns=columns or MAPPING, show_progress=False, **extra)


def typed_table() -> pa.Table:
    """Rows with every kind of typed value, good and bad, in contract-typed columns."""
    return pa.table(
        {
            "invoice": pa.array(["536365", None, "C536379", "536366", "536367", "536368", "9"]),
            "sku": pa.array(["85123A", "Y", " X ", "22", "00123", "B", "C"]),
            "qty": pa.array([6, 2, -1, None, 3, 4, 0], pa.int32()),
            "price": pa.array([2.55, 1.0, 4.25, 1.5, math.nan, math.inf, 0.1 + 0.2]),
            "at": pa.array(
                [
                    dt.datetime(2010, 12, 1, 8, 26),
                    dt.datetime(2010, 12, 1, 9, 0),
                    dt.datetime(2010, 12, 2, 10, 5, 30),
                    dt.datetime(2010, 12, 3),
                    dt.datetime(2010, 12, 4, 1, 2, 3, 456789),
                    None,
                    dt.datetime(1969, 12, 31, 23, 59, 59),
                ],
                pa.timestamp("us"),
            ),
            "client": pa.array([17850, 17850, None, 12346, 0, 5, -7], pa.int64()),
            "market": pa.array(["United Kingdom", "UK", "France\t", "EIRE", "UK", "UK", None]),
        }
    )


def write_parquet(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path)
    return path


def write_as_text(typed: Path, path: Path) -> Path:
    """The same Parquet file with every column as text (what the loader used to parse)."""
    with duckdb.connect() as con:
        con.execute(
            f"copy (select columns(*)::varchar from read_parquet('{typed}')) to '{path}' "
            "(format parquet)"
        )
    return path


def load(path: Path, load_options: LoadOptions, database: Path):
    with duckdb.connect(str(database)) as con:
        report = load_path(con, path, load_options)
        loaded = con.execute(
            f"select {TRANSACTION_FIELDS} from raw.transactions order by source_row"
        ).fetchall()
        rejected = con.execute(
            "select source_row, reason, raw_values from raw.rejected_rows order by source_row"
        ).fetchall()
    return report, loaded, rejected


def test_typed_source_types_are_chosen_by_contract_type():
    typed = parsing.typed_value_sql
    assert typed("quantity", "q", "INTEGER") == 'cast("q" as bigint)'
    assert typed("quantity", "q", "UTINYINT") is not None
    assert typed("amount", "p", "DECIMAL(10,2)") == 'cast("p" as double)'
    assert typed("amount", "p", "BIGINT") is not None
    assert typed("invoiced_at", "t", "DATE") == 'cast("t" as timestamp)'
    # Through text: no exact contract value, or one that may not fit.
    for field, source_type in [
        ("quantity", "DOUBLE"),
        ("quantity", "HUGEINT"),
        ("quantity", "UBIGINT"),
        ("quantity", "VARCHAR"),
        ("amount", "FLOAT"),
        ("amount", "VARCHAR"),
        ("invoiced_at", "TIMESTAMP WITH TIME ZONE"),
        ("invoiced_at", "VARCHAR"),
        ("customer_id", "BIGINT"),
    ]:
        assert typed(field, "c", source_type) is None, (field, source_type)


def test_typed_and_text_parquet_of_the_same_rows_load_the_same(tmp_path, stage_mode):
    typed = write_parquet(typed_table(), tmp_path / "typed.parquet")
    text = write_as_text(typed, tmp_path / "text.parquet")
    typed_report, typed_loaded, typed_rejected = load(typed, options(), tmp_path / "a.duckdb")
    text_report, text_loaded, text_rejected = load(text, options(), tmp_path / "b.duckdb")
    assert (typed_report.rows_loaded, typed_report.rows_rejected) == (3, 4)
    assert (text_report.rows_loaded, text_report.rows_rejected) == (3, 4)
    assert typed_loaded == text_loaded
    assert typed_rejected == text_rejected
    assert typed_loaded[0] == (
        "536365",
        "85123A",
        None,
        6,
        2.55,
        dt.datetime(2010, 12, 1, 8, 26),
        "17850",
        "United Kingdom",
        1,
    )
    assert typed_loaded[1][1:4] == ("X", None, -1)  # text is still trimmed
    assert typed_loaded[1][6:] == (None, "France", 3)
    assert typed_loaded[2][3:] == (
        0,
        0.1 + 0.2,
        dt.datetime(1969, 12, 31, 23, 59, 59),
        "-7",
        None,
        7,
    )


def test_typed_values_are_rejected_with_the_reasons_of_text(tmp_path, stage_mode):
    path = write_parquet(typed_table(), tmp_path / "typed.parquet")
    report, _, rejected = load(path, options(), tmp_path / "w.duckdb")
    assert [(row, reason) for row, reason, _ in rejected] == [
        (2, "missing invoice id"),
        (4, "missing quantity"),
        (5, "non-numeric unit price 'nan'"),
        (6, "missing timestamp; non-numeric unit price 'inf'"),
    ]
    raw = {row: json.loads(values) for row, _, values in rejected}
    assert raw[4]["qty"] is None and raw[4]["price"] == "1.5" and raw[4]["client"] == "12346"
    assert raw[5]["at"] == "2010-12-04 01:02:03.456789" and raw[5]["price"] == "nan"
    assert raw[6]["at"] is None
    assert report.rows_read == 7


def test_report_rows_add_up_for_typed_input(tmp_path, stage_mode):
    path = write_parquet(typed_table(), tmp_path / "typed.parquet")
    report, loaded, rejected = load(path, options(), tmp_path / "w.duckdb")
    assert report.rows_loaded == len(loaded) and report.rows_rejected == len(rejected)
    assert sorted([row[-1] for row in loaded] + [row for row, _, _ in rejected]) == list(
        range(1, 8)
    )


def test_typed_line_totals_need_a_quantity_other_than_zero(tmp_path, stage_mode):
    table = pa.table(
        {
            "client": pa.array(["c1", "c2", "c3", "c4"]),
            "at": pa.array([dt.date(2011, 1, 1)] * 4, pa.date32()),
            "qty": pa.array([2, 0, -1, 4], pa.int64()),
            "total": pa.array([5.0, 3.0, -2.5, -math.inf]),
        }
    )
    path = write_parquet(table, tmp_path / "totals.parquet")
    columns = {
        "customer_id": "client",
        "invoiced_at": "at",
        "quantity": "qty",
        "line_total": "total",
    }
    _, loaded, rejected = load(path, options(columns), tmp_path / "w.duckdb")
    assert [(row[3], row[4], row[-1]) for row in loaded] == [(2, 2.5, 1), (-1, 2.5, 3)]
    assert [(row, reason) for row, reason, _ in rejected] == [
        (2, "quantity is 0, so no unit price can be derived from the line total"),
        (4, "non-numeric line total '-inf'"),
    ]


def test_double_quantities_load_when_whole(tmp_path, stage_mode):
    table = pa.table(
        {
            "client": pa.array(["c1", "c2", "c3", "c4"]),
            "at": pa.array([dt.datetime(2011, 1, 1, 10)] * 4, pa.timestamp("ms")),
            "qty": pa.array([3.0, 3.5, -2.0, math.nan]),
            "price": pa.array([1.0, 1.0, 1.0, 1.0]),
        }
    )
    path = write_parquet(table, tmp_path / "double.parquet")
    _, loaded, rejected = load(path, options(REQUIRED_ONLY), tmp_path / "w.duckdb")
    assert [(row[3], row[5], row[-1]) for row in loaded] == [
        (3, dt.datetime(2011, 1, 1, 10), 1),
        (-2, dt.datetime(2011, 1, 1, 10), 3),
    ]
    assert [(row, reason) for row, reason, _ in rejected] == [
        (2, "quantity '3.5' is not a whole number"),
        (4, "quantity 'nan' is not a whole number"),
    ]


def test_date_timestamps_and_decimal_prices(tmp_path, stage_mode):
    table = pa.table(
        {
            "client": pa.array(["c1", "c2", "c3"]),
            "at": pa.array([dt.date(2011, 3, 1), None, dt.date(1999, 12, 31)], pa.date32()),
            "qty": pa.array([1, 1, 2], pa.int16()),
            "price": pa.array(["2.55", "1.10", "0.10"]).cast(pa.decimal128(10, 2)),
        }
    )
    typed = write_parquet(table, tmp_path / "dates.parquet")
    text = write_as_text(typed, tmp_path / "dates_text.parquet")
    _, loaded, rejected = load(typed, options(REQUIRED_ONLY), tmp_path / "a.duckdb")
    assert [(row[4], row[5]) for row in loaded] == [
        (2.55, dt.datetime(2011, 3, 1)),
        (0.1, dt.datetime(1999, 12, 31)),
    ]
    assert [(row, reason) for row, reason, _ in rejected] == [(2, "missing timestamp")]
    assert (loaded, rejected) == load(text, options(REQUIRED_ONLY), tmp_path / "b.duckdb")[1:]


def test_nanosecond_timestamps_keep_whole_microseconds_as_their_text_does(tmp_path, stage_mode):
    nanos = [1_293_870_245_123_456_789, -1, 999]  # 2011-01-01 08:24:05.123456789, 1969, 1970
    table = pa.table(
        {
            "client": pa.array(["c1", "c2", "c3"]),
            "at": pa.array(nanos, pa.timestamp("ns")),
            "qty": pa.array([1, 1, 1]),
            "price": pa.array([1.0, 1.0, 1.0]),
        }
    )
    typed = write_parquet(table, tmp_path / "ns.parquet")
    text = write_as_text(typed, tmp_path / "ns_text.parquet")
    _, loaded, _ = load(typed, options(REQUIRED_ONLY), tmp_path / "a.duckdb")
    assert [row[5] for row in loaded] == [
        dt.datetime(2011, 1, 1, 8, 24, 5, 123456),
        dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
        dt.datetime(1970, 1, 1),
    ]
    assert loaded == load(text, options(REQUIRED_ONLY), tmp_path / "b.duckdb")[1]


def test_a_stated_date_format_applies_to_text_only(tmp_path):
    path = write_parquet(typed_table(), tmp_path / "typed.parquet")
    report, loaded, _ = load(path, options(date_format="%d/%m/%Y %H:%M"), tmp_path / "w.duckdb")
    assert report.rows_loaded == 3 and loaded[0][5] == dt.datetime(2010, 12, 1, 8, 26)


def test_large_text_units_read_in_place_load_like_copied_ones(tmp_path, monkeypatch):
    lines = [
        UCI_HEADER,
        "536365,85123A,  HEART ,6,12/1/2010 8:26,2.55,17850.0,UK",
        "536365.0,\u00a0X\u00a0,\tMUG\t,+5,12/13/2010 14:05,1e1, 12346 ,United Kingdom  ",
        "C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,nan,UK",
        "536380,E,e,1.5,2010-12-01 09:41:00,1,NULL,UK",
        "536381,F,f,six,not a date,abc,1.0.0,UK",
        "536382,G,g,99999999999999999999,,,x.0,UK",
        "536383,H,h,1,2010-12-01 09:41:00,1,1,UK,one field too many",
        "536384,I,i,2,2010-12-01 09:41:00,1,1,UK",
    ]
    path = tmp_path / "text.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    copied = load(path, LoadOptions(show_progress=False), tmp_path / "a.duckdb")
    monkeypatch.setattr(parsing, "IN_PLACE_ROWS", 0)
    in_place = load(path, LoadOptions(show_progress=False), tmp_path / "b.duckdb")
    assert copied[1:] == in_place[1:]
    assert [row[1:4] + row[6:] for row in copied[1]] == [
        ("85123A", "HEART", 6, "17850", "UK", 1),
        ("X", "MUG", 5, "12346", "United Kingdom", 2),
        ("D", "Discount", -1, None, "UK", 3),
        ("I", "i", 2, "1", "UK", 8),
    ]
    reasons = [(row, reason) for row, reason, _ in copied[2]]
    assert reasons[:3] == [
        (4, "quantity '1.5' is not a whole number"),
        (
            5,
            "unparseable date 'not a date' (state the format with --date-format); "
            "non-numeric quantity 'six'; non-numeric unit price 'abc'",
        ),
        (
            6,
            "missing timestamp; quantity '99999999999999999999' is out of range; "
            "missing unit price",
        ),
    ]
    assert reasons[3][0] == 7 and reasons[3][1].startswith("malformed CSV line")


def test_a_damaged_parquet_file_is_named_in_the_error(tmp_path, stage_mode):
    path = write_parquet(typed_table(), tmp_path / "damaged.parquet")
    data = bytearray(path.read_bytes())
    data[4:24] = b"\xff" * 20  # the first page header: footer and row count stay readable
    path.write_bytes(bytes(data))
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        with pytest.raises(LoadError, match="damaged.parquet: cannot read"):
            load_path(con, path, options())
        assert con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'raw'"
        ).fetchall() == [(0,)]

"""Loads that must fail clearly and write nothing; changed files; the progress bar."""

from __future__ import annotations

import io

import duckdb
import pytest
from helpers import UCI_HEADER
from helpers import write_bytes as write

from segmentation.loading import LoadError, LoadOptions, load_path, read_mapping_file
from segmentation.loading.progress import Progress

GOOD_LINE = "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom"
QUIET = LoadOptions(show_progress=False)


def raw_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'raw'"
        ).fetchall()
    ]


def test_missing_path(tmp_path, con):
    with pytest.raises(LoadError, match="no such file or folder"):
        load_path(con, tmp_path / "nope.csv", QUIET)


def test_empty_file_and_empty_folder(tmp_path, con):
    with pytest.raises(LoadError, match="empty.csv: the file is empty"):
        load_path(con, write(tmp_path / "empty.csv", b""), QUIET)
    with pytest.raises(LoadError, match="the file is empty"):
        load_path(con, write(tmp_path / "blank.csv", "\n  \n"), QUIET)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(LoadError, match="holds no loadable files"):
        load_path(con, tmp_path / "nothing", QUIET)


def test_header_only_file_loads_zero_rows(tmp_path, con):
    report = load_path(con, write(tmp_path / "quiet_day.csv", UCI_HEADER + "\n"), QUIET)
    assert [(u.rows_read, u.rows_loaded) for u in report.units] == [(0, 0)]


def test_missing_required_columns_are_named_with_the_columns_found(tmp_path, con):
    path = write(
        tmp_path / "day.csv",
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,Country\n1,A,b,1,2010-12-01,UK\n",
    )
    with pytest.raises(LoadError) as error:
        load_path(con, path, QUIET)
    message = str(error.value)
    assert "day.csv" in message and "'UnitPrice'" in message and "'CustomerID'" in message
    assert "columns found: 'InvoiceNo', 'StockCode'" in message


def test_unrecognised_header_asks_for_a_mapping(tmp_path, con):
    path = write(tmp_path / "orders.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(
        LoadError, match=r"not a known layout; columns found: 'a', 'b', 'c'.*--mapping"
    ):
        load_path(con, path, QUIET)


def test_mapping_to_a_column_that_does_not_exist(tmp_path, con):
    path = write(tmp_path / "orders.csv", "client,ts,qty,price\nc1,2011-01-01,1,2\n")
    options = LoadOptions(
        columns={
            "customer_id": "client",
            "invoiced_at": "ts",
            "quantity": "quantity",
            "unit_price": "price",
        },
        show_progress=False,
    )
    with pytest.raises(LoadError) as error:
        load_path(con, path, options)
    message = str(error.value)
    assert (
        "quantity -> 'quantity'" in message
        and "columns found: 'client', 'ts', 'qty', 'price'" in message
    )


def test_incomplete_or_wrong_mappings(tmp_path, con):
    path = write(tmp_path / "orders.csv", "client,ts,qty,price\nc1,2011-01-01,1,2\n")
    with pytest.raises(LoadError, match="required fields not mapped: invoiced_at, quantity"):
        load_path(con, path, LoadOptions(columns={"customer_id": "client", "unit_price": "price"}))
    with pytest.raises(LoadError, match="unknown fields cost"):
        load_path(con, path, LoadOptions(columns={"cost": "price"}))
    mapping = write(tmp_path / "m.yml", "columns:\n  customer_id: client\nformat: csv\n")
    with pytest.raises(LoadError, match="unknown keys format"):
        read_mapping_file(mapping)
    both = write(
        tmp_path / "both.yml",
        "columns: {customer_id: client, invoiced_at: ts, quantity: qty,\n"
        "          unit_price: price, line_total: price}\n",
    )
    with pytest.raises(LoadError, match="not both"):
        load_path(con, path, LoadOptions(mapping_file=both))
    with pytest.raises(LoadError, match="--format uci fixes the columns"):
        load_path(con, path, LoadOptions(fmt="uci", mapping_file=both))
    assert raw_tables(con) == []


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("fake.csv", b"PK\x03\x04rest-of-a-zip", "expected CSV text but the file is a zip archive"),
        ("fake.csv", b"PAR1\x00\x00PAR1", "expected CSV text but the file is a Parquet file"),
        (
            "fake.xlsx",
            UCI_HEADER.encode() + b"\n",
            "expected an Excel .xlsx workbook but the file is text",
        ),
        ("fake.parquet", b"a,b\n1,2\n", "expected a Parquet file but the file is text"),
        ("old.xls", b"\xd0\xcf\x11\xe0....", "legacy Excel .xls"),
        ("data.json", b"{}", "unknown file type '.json'"),
    ],
)
def test_file_that_is_not_what_its_extension_says(tmp_path, con, name, content, expected):
    with pytest.raises(LoadError, match=expected):
        load_path(con, write(tmp_path / name, content), QUIET)


def test_a_bad_file_in_a_folder_loads_nothing_at_all(tmp_path, con):
    folder = tmp_path / "days"
    write(folder / "2010-12-01.csv", f"{UCI_HEADER}\n{GOOD_LINE}\n")
    write(
        folder / "2010-12-02.csv",
        UCI_HEADER.replace(",UnitPrice", "") + "\n1,A,b,1,2010-12-02,1,UK\n",
    )
    with pytest.raises(LoadError, match="2010-12-02.csv: missing required columns"):
        load_path(con, folder, QUIET)
    assert raw_tables(con) == []  # not even the tables: one transaction per load


def test_a_changed_file_is_an_error_unless_replaced(tmp_path, con):
    path = write(tmp_path / "day.csv", f"{UCI_HEADER}\n{GOOD_LINE}\n")
    load_path(con, path, QUIET)
    write(path, f"{UCI_HEADER}\n{GOOD_LINE}\n{GOOD_LINE.replace('536365', '536366')}\nx,y\n")
    with pytest.raises(
        LoadError, match=r"1 file\(s\) changed since they were loaded: .*day.csv.*--replace-changed"
    ):
        load_path(con, path, QUIET)
    assert con.execute("select count(*) from raw.transactions").fetchall() == [(1,)]

    report = load_path(con, path, LoadOptions(replace_changed=True, show_progress=False))
    assert report.units[0].replaced and report.rows_loaded == 2 and report.rows_rejected == 1
    assert con.execute(
        "select list(invoice_id order by source_row) from raw.transactions"
    ).fetchall() == [(["536365", "536366"],)]
    assert con.execute("select count(*) from raw.rejected_rows").fetchall() == [(1,)]
    log = con.execute(
        "select rows_loaded, is_current from raw.load_log order by loaded_at, is_current"
    ).fetchall()
    assert sorted(log) == [(1, False), (2, True)]


def test_a_load_where_every_row_is_rejected_fails(tmp_path, con):
    path = write(
        tmp_path / "day.csv",
        f"{UCI_HEADER}\n{GOOD_LINE.replace('2010-12-01 08:26:00', 'Dec 1st')}\n",
    )
    with pytest.raises(
        LoadError, match=r"every one of the 1 rows was rejected.*unparseable date 'Dec 1st'"
    ):
        load_path(con, path, QUIET)
    assert raw_tables(con) == []


def test_rows_that_no_load_accounts_for_stop_the_load(tmp_path, con):
    con.execute("create schema raw")
    con.execute(
        "create table raw.transactions as select '1' as invoice_id, 'A' as stock_code, "
        "'x' as description, 1::bigint as quantity, 1.0::double as unit_price, "
        "timestamp '2020-01-01' as invoiced_at, 'c' as customer_id, 'UK' as country, "
        "'demo' as source_file, 1::bigint as source_row"
    )
    with pytest.raises(LoadError, match=r"already holds 1\+ rows .*'demo'.*--database"):
        load_path(con, write(tmp_path / "day.csv", f"{UCI_HEADER}\n{GOOD_LINE}\n"), QUIET)


def test_progress_bar_writes_plain_text_to_its_stream(tmp_path, con):
    stream = io.StringIO()
    bar = Progress(8, "reading files", stream=stream)
    for _ in range(8):
        bar.advance(1, "x.csv")
    bar.finish()
    lines = stream.getvalue().splitlines()
    assert lines[0] == "reading files [" + "#" * 8 + "-" * 22 + "] 2/8 x.csv"
    assert len(lines) == 4 and lines[-1].startswith("reading files [" + "#" * 30 + "] 8/8")

    stream = io.StringIO()
    Progress(1, "one", stream=stream).advance(1)  # several steps passed at once: one line
    Progress(None, "rows", stream=stream).advance(300_000)  # unknown total: a count
    assert stream.getvalue().splitlines() == ["one [" + "#" * 30 + "] 1/1", "rows: 300,000"]

    folder = tmp_path / "days"
    for day in range(1, 5):
        write(
            folder / f"2010-12-0{day}.csv",
            f"{UCI_HEADER}\n{GOOD_LINE.replace('536365', str(day))}\n",
        )
    stream = io.StringIO()
    load_path(con, folder, LoadOptions(), stream=stream)
    assert "reading files [" in stream.getvalue() and "4/4" in stream.getvalue()

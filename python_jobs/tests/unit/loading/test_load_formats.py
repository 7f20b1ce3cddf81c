"""Loading each supported format: UCI / UCI II as CSV, Excel (several sheets) and folders;
generic CSV and Parquet with a column mapping; incremental and idempotent folder loads."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import EXAMPLES_DIR, UCI_HEADER
from helpers import write_lines as write

from segmentation.loading import LoadError, LoadOptions, load_path

UCI2_HEADER = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country"
EXAMPLE_MAPPING = EXAMPLES_DIR / "mapping_example.yml"
QUIET = LoadOptions(show_progress=False)


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def test_uci_csv_loads_every_column_into_the_contract(tmp_path, con):
    path = write(
        tmp_path / "day.csv",
        [
            UCI_HEADER,
            "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,"
            "United Kingdom",
            'C536379,D,"Discount, big",-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom',
        ],
    )
    report = load_path(con, path, QUIET)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (2, 2, 0)
    assert report.units[0].layout == "uci"
    assert rows(con, "select * from raw.transactions order by source_row") == [
        (
            "536365",
            "85123A",
            "WHITE HANGING HEART T-LIGHT HOLDER",
            6,
            2.55,
            dt.datetime(2010, 12, 1, 8, 26),
            "17850",
            "United Kingdom",
            path.as_posix(),
            1,
        ),
        (
            "C536379",
            "D",
            "Discount, big",
            -1,
            27.5,
            dt.datetime(2010, 12, 1, 9, 41),
            "14527",
            "United Kingdom",
            path.as_posix(),
            2,
        ),
    ]


def test_uci2_csv_is_recognised_by_its_header(tmp_path, con):
    path = write(
        tmp_path / "retail_ii.csv",
        [
            UCI2_HEADER,
            "489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,2009-12-01 07:45:00,6.95,13085.0,"
            "United Kingdom",
            "489435,22350,CAT BOWL ,12,2009-12-01 07:46:00,2.55,,United Kingdom",
        ],
    )
    report = load_path(con, path, QUIET)
    assert report.units[0].layout == "uci2"
    assert rows(
        con, "select stock_code, description, unit_price, customer_id from raw.transactions"
    ) == [
        ("85048", "15CM CHRISTMAS GLASS BALL 20 LIGHTS", 6.95, "13085"),
        ("22350", "CAT BOWL", 2.55, None),
    ]


def test_stated_layout_that_does_not_fit_names_missing_and_found_columns(tmp_path, con):
    path = write(tmp_path / "day.csv", [UCI_HEADER, "1,A,x,1,2010-12-01 08:00:00,1,1,UK"])
    with pytest.raises(LoadError) as error:
        load_path(con, path, LoadOptions(fmt="uci2", show_progress=False))
    message = str(error.value)
    assert "'Invoice'" in message and "'Price'" in message and "'InvoiceNo'" in message
    assert "Online Retail II" in message


def write_uci2_workbook(path: Path) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = "Year 2009-2010"
    first.append(UCI2_HEADER.split(","))
    first.append(
        [
            489434,
            "85048",
            "GLASS BALL",
            12,
            dt.datetime(2009, 12, 1, 7, 45),
            6.95,
            13085.0,
            "United Kingdom",
        ]
    )
    first.append(
        [
            "C489449",
            22087,
            "PAPER BUNTING ",
            -12,
            dt.datetime(2009, 12, 1, 10, 33),
            2.95,
            16321.0,
            "Australia",
        ]
    )
    second = workbook.create_sheet("Year 2010-2011")
    second.append(UCI2_HEADER.split(","))
    second.append(
        [
            536365,
            "85123A",
            "WHITE HANGING HEART",
            6,
            dt.datetime(2010, 12, 1, 8, 26),
            2.55,
            17850.0,
            "United Kingdom",
        ]
    )
    second.append([None] * 8)  # an empty row is not a data row
    second.append(
        [
            536366,
            22633,
            "HAND WARMER",
            6,
            dt.datetime(2010, 12, 1, 8, 28),
            1.85,
            None,
            "United Kingdom",
        ]
    )
    workbook.create_sheet("Empty")
    workbook.save(path)


def test_uci2_workbook_with_two_sheets_loads_both(tmp_path, con):
    path = tmp_path / "online_retail_II.xlsx"
    write_uci2_workbook(path)
    report = load_path(con, path, QUIET)
    assert [(u.source_file, u.rows_read, u.rows_loaded) for u in report.units] == [
        (f"{path.as_posix()}#Year 2009-2010", 2, 2),
        (f"{path.as_posix()}#Year 2010-2011", 2, 2),
    ]
    loaded = rows(
        con,
        "select invoice_id, stock_code, quantity, invoiced_at, customer_id, source_row "
        "from raw.transactions order by source_file, source_row",
    )
    assert loaded == [
        ("489434", "85048", 12, dt.datetime(2009, 12, 1, 7, 45), "13085", 1),
        ("C489449", "22087", -12, dt.datetime(2009, 12, 1, 10, 33), "16321", 2),
        ("536365", "85123A", 6, dt.datetime(2010, 12, 1, 8, 26), "17850", 1),
        ("536366", "22633", 6, dt.datetime(2010, 12, 1, 8, 28), None, 3),
    ]
    log = rows(con, "select sheet_name, file_format, layout from raw.load_log order by 1")
    assert log == [("Year 2009-2010", "excel", "uci2"), ("Year 2010-2011", "excel", "uci2")]
    assert load_path(con, path, QUIET).units == []


def test_folder_load_is_incremental_and_idempotent(tmp_path, con):
    folder = tmp_path / "by-day"
    write(folder / "2010-12-01.csv", [UCI_HEADER, "1,A,a,1,2010-12-01 08:00:00,1.5,1.0,UK"])
    write(folder / "2010-12-02.csv", [UCI_HEADER, "2,B,b,2,2010-12-02 08:00:00,2.5,2.0,UK"])
    write(folder / "README.md", ["not data"])
    first = load_path(con, folder, QUIET)
    assert first.files_loaded == 2 and first.rows_loaded == 2
    assert first.ignored == [(folder / "README.md").as_posix()]

    again = load_path(con, folder, QUIET)
    assert again.units == [] and len(again.skipped) == 2
    assert rows(con, "select count(*) from raw.transactions") == [(2,)]

    write(folder / "2010-12-03.csv", [UCI_HEADER, "3,C,c,3,2010-12-03 08:00:00,3.5,3.0,UK"])
    third = load_path(con, folder, QUIET)
    assert [u.file_path for u in third.units] == [(folder / "2010-12-03.csv").as_posix()]
    assert rows(con, "select count(*), count(distinct load_id) from raw.load_log") == [(3, 2)]
    assert rows(con, "select sum(quantity) from raw.transactions") == [(6,)]


def test_same_content_under_another_name_is_skipped(tmp_path, con):
    write(tmp_path / "a" / "day.csv", [UCI_HEADER, "1,A,a,1,2010-12-01 08:00:00,1.5,1.0,UK"])
    write(tmp_path / "b" / "day.csv", [UCI_HEADER, "1,A,a,1,2010-12-01 08:00:00,1.5,1.0,UK"])
    load_path(con, tmp_path / "a", QUIET)
    report = load_path(con, tmp_path / "b", QUIET)
    assert report.units == []
    assert "same content as" in report.skipped[0][1]
    assert rows(con, "select count(*) from raw.transactions") == [(1,)]


def test_generic_csv_with_the_example_mapping_file(tmp_path, con):
    path = write(
        tmp_path / "orders.csv",
        [
            "Order Ref,SKU,Product,Qty,Order Date,Line Amount,Client,Market",
            "A-1,sku1,Mug,3,2023-05-01 10:00:00,7.50,c1,France",
            "A-2,sku2,Plate,0,2023-05-02 11:00:00,0,c2,Spain",
        ],
    )
    report = load_path(con, path, LoadOptions(mapping_file=EXAMPLE_MAPPING, show_progress=False))
    assert report.units[0].layout == "mapping"
    assert rows(
        con, "select invoice_id, stock_code, quantity, unit_price, country from raw.transactions"
    ) == [
        ("A-1", "sku1", 3, 2.5, "France"),
    ]
    assert rows(con, "select source_row, reason from raw.rejected_rows") == [
        (2, "quantity is 0, so no unit price can be derived from the line total"),
    ]
    assert rows(con, "select amount_source from raw.load_log") == [("line_total",)]


def test_generic_csv_without_optional_columns_synthesises_invoices_and_records_capabilities(
    tmp_path, con
):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps(
            {
                "columns": {
                    "customer_id": "client",
                    "invoiced_at": "ts",
                    "quantity": "qty",
                    "unit_price": "price",
                }
            }
        )
    )
    path = write(
        tmp_path / "log.csv",
        [
            "client;ts;qty;price",
            "c1;2023-01-05 10:00:00;1;2,5",
            "c1;2023-01-05 10:00:00;2;3.0",
            "c1;2023-01-06 09:00:00;1;4.0",
            "c2;2023-01-05 10:00:00;1;4.0",
        ],
    )
    report = load_path(con, path, LoadOptions(mapping_file=mapping, show_progress=False))
    assert report.rows_loaded == 3 and report.rows_rejected == 1  # '2,5' is not a number
    invoices = rows(
        con, "select customer_id, invoiced_at, invoice_id from raw.transactions order by source_row"
    )
    assert all(inv.startswith("SYN-") for _, _, inv in invoices)
    assert invoices[0][2] != invoices[1][2] != invoices[2][2]  # per customer and timestamp
    assert rows(con, "select stock_code, description, country from raw.transactions limit 1") == [
        (None, None, None)
    ]
    capabilities = dict(
        rows(con, "select capability, is_available from raw.input_capabilities").__iter__()
    )
    assert capabilities == {
        "has_invoice_id": False,
        "has_stock_code": False,
        "has_description": False,
        "has_country": False,
    }
    assert any("has_stock_code" in note for note in report.notes)

    # The same customer and timestamp in a later load gets the same synthetic invoice id.
    again = write(tmp_path / "more.csv", ["client;ts;qty;price", "c1;2023-01-05 10:00:00;5;1"])
    load_path(con, again, LoadOptions(mapping_file=mapping, show_progress=False))
    assert rows(
        con,
        "select count(distinct invoice_id) from raw.transactions where customer_id = 'c1' "
        "and invoiced_at = '2023-01-05 10:00:00'",
    ) == [(1,)]


def test_parquet_with_column_flags(tmp_path, con):
    path = tmp_path / "orders.parquet"
    table = pa.table(
        {
            "client": pa.array([17850.0, None, 12.0]),
            "when": pa.array(
                [dt.datetime(2011, 1, 2, 3, 4), dt.datetime(2011, 1, 3), None], pa.timestamp("us")
            ),
            "qty": pa.array([2, -1, 1], pa.int64()),
            "total": pa.array([5.0, -2.5, 1.0]),
            "sku": pa.array(["00123", "X", "Y"]),
        }
    )
    pq.write_table(table, path)
    options = LoadOptions(
        columns={
            "customer_id": "client",
            "invoiced_at": "when",
            "quantity": "qty",
            "line_total": "total",
            "stock_code": "sku",
        },
        show_progress=False,
    )
    report = load_path(con, path, options)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (3, 2, 1)
    assert rows(
        con,
        "select customer_id, invoiced_at, quantity, unit_price, stock_code, source_row "
        "from raw.transactions order by source_row",
    ) == [
        ("17850", dt.datetime(2011, 1, 2, 3, 4), 2, 2.5, "00123", 1),
        (None, dt.datetime(2011, 1, 3), -1, 2.5, "X", 2),
    ]
    assert rows(con, "select source_row, reason from raw.rejected_rows") == [
        (3, "missing timestamp")
    ]
    assert rows(con, "select file_format, layout from raw.load_log") == [("parquet", "mapping")]


def test_capabilities_follow_all_current_files(tmp_path, con):
    write(tmp_path / "uci.csv", [UCI_HEADER, "1,A,a,1,2010-12-01 08:00:00,1.5,1.0,UK"])
    load_path(con, tmp_path / "uci.csv", QUIET)
    assert rows(con, "select bool_and(is_available) from raw.input_capabilities") == [(True,)]
    write(tmp_path / "g.csv", ["cust,at,n,p,country", "9,2011-01-01,1,1,UK"])
    options = LoadOptions(
        columns={
            "customer_id": "cust",
            "invoiced_at": "at",
            "quantity": "n",
            "unit_price": "p",
            "country": "country",
        },
        show_progress=False,
    )
    load_path(con, tmp_path / "g.csv", options)
    available = dict(rows(con, "select capability, is_available from raw.input_capabilities"))
    assert available == {
        "has_invoice_id": False,
        "has_stock_code": False,
        "has_description": False,
        "has_country": True,
    }
    note = rows(con, "select note from raw.input_capabilities where capability = 'has_stock_code'")
    assert "1 of 2 loaded files" in note[0][0] and "g.csv" in note[0][0]


def test_workbook_sheet_quirks(tmp_path, con):
    import openpyxl

    path = tmp_path / "book.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Orders"
    sheet.append([None])  # a blank first row: the header is the first non-empty row
    sheet.append(UCI_HEADER.split(","))
    sheet.append([1, "A", "a", 1, "2010-12-01 08:00:00", 1.5, 1.0, "UK"])
    sheet.append([2, "B", "b", 2, "2010-12-01 08:00:00", 2.5, 2.0, "UK", "stray"])
    workbook.save(path)
    report = load_path(con, path, QUIET)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (2, 1, 1)
    assert rows(con, "select source_row, reason from raw.rejected_rows") == [
        (2, "value beyond the last header column")
    ]

    other = tmp_path / "notes.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(UCI_HEADER.split(","))
    workbook.active.append([1, "A", "a", 1, "2010-12-01 08:00:00", 1.5, 1.0, "UK"])
    workbook.create_sheet("Notes").append(["Read me", "first"])
    workbook.save(other)
    with pytest.raises(LoadError, match=r"notes.xlsx#Notes: the columns are not a known layout"):
        load_path(con, other, QUIET)

"""Parsing quirks of real logs: float ids, prefixed invoices, text stock codes, date forms,
encodings, trailing spaces; row-level rejections with reasons; dirty rows that are loaded."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from helpers import UCI_HEADER
from helpers import write_lines as write

from segmentation.loading import LoadError, LoadOptions, load_path
from segmentation.loading.parsing import suggest_formats

QUIET = LoadOptions(show_progress=False)


def uci_line(
    invoice="536365",
    stock="85123A",
    description="HEART",
    quantity="6",
    date="2010-12-01 08:26:00",
    price="2.55",
    customer="17850.0",
    country="UK",
) -> str:
    return ",".join([invoice, stock, description, quantity, date, price, customer, country])


def load_dates(tmp_path, con, dates, options=QUIET):
    path = write(tmp_path / "dates.csv", [UCI_HEADER] + [uci_line(date=d) for d in dates])
    report = load_path(con, path, options)
    loaded = con.execute(
        "select source_row, invoiced_at from raw.transactions order by source_row"
    ).fetchall()
    return report, loaded


def test_ids_codes_and_spaces_are_normalised_but_kept_as_text(tmp_path, con):
    path = write(
        tmp_path / "quirks.csv",
        [
            UCI_HEADER,
            uci_line(invoice="C536379", stock="10002", customer="17850.0"),
            uci_line(
                invoice="A563185", stock="00123 ", description="  WHITE MUG  ", customer=" 12346 "
            ),
            uci_line(
                invoice="536400.0", stock="85123a", country="United Kingdom  ", customer="nan"
            ),
            uci_line(invoice="536401", quantity="6.0", price=" 1e1 "),
        ],
    )
    load_path(con, path, QUIET)
    assert con.execute(
        "select invoice_id, stock_code, description, quantity, unit_price, customer_id, country "
        "from raw.transactions order by source_row"
    ).fetchall() == [
        ("C536379", "10002", "HEART", 6, 2.55, "17850", "UK"),
        ("A563185", "00123", "WHITE MUG", 6, 2.55, "12346", "UK"),
        ("536400", "85123a", "HEART", 6, 2.55, None, "United Kingdom"),
        ("536401", "85123A", "HEART", 6, 10.0, "17850", "UK"),
    ]


def test_dirty_rows_are_loaded_not_rejected(tmp_path, con):
    """Cleaning is the staging layer's job: these rows must all reach raw.transactions."""
    lines = [
        uci_line(invoice="C1", quantity="-3"),  # cancellation
        uci_line(invoice="2", quantity="-5", customer=""),  # negative quantity, no customer
        uci_line(invoice="3", price="0"),  # zero price
        uci_line(invoice="4", price="-11062.06"),  # negative price (bad-debt adjustment)
        uci_line(invoice="5"),
        uci_line(invoice="5"),  # exact duplicate
    ]
    path = write(tmp_path / "dirty.csv", [UCI_HEADER, *lines])
    report = load_path(con, path, QUIET)
    assert (report.rows_loaded, report.rows_rejected) == (6, 0)


def test_every_rejection_reason_keeps_row_number_and_raw_values(tmp_path, con):
    lines = [
        uci_line(invoice="1"),
        uci_line(invoice="", description="no invoice"),
        uci_line(invoice="3", date=""),
        uci_line(invoice="4", date="2010-13-45 99:00"),
        uci_line(invoice="5", quantity="six"),
        uci_line(invoice="6", quantity="1.5"),
        uci_line(invoice="7", price="abc"),
        uci_line(invoice="8", price=""),
        uci_line(invoice="9", quantity=""),
        uci_line(invoice="10"),
    ]
    path = write(tmp_path / "bad.csv", [UCI_HEADER, *lines])
    report = load_path(con, path, QUIET)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (10, 2, 8)
    rejected = con.execute(
        "select source_file, source_row, reason, raw_values from raw.rejected_rows order by 2"
    ).fetchall()
    reasons = {row: reason for _, row, reason, _ in rejected}
    assert reasons[2] == "missing invoice id"
    assert reasons[3] == "missing timestamp"
    assert reasons[4].startswith("unparseable date '2010-13-45 99:00'")
    assert reasons[5] == "non-numeric quantity 'six'"
    assert reasons[6] == "quantity '1.5' is not a whole number"
    assert reasons[7] == "non-numeric unit price 'abc'"
    assert reasons[8] == "missing unit price"
    assert reasons[9] == "missing quantity"
    assert {source for source, *_ in rejected} == {path.as_posix()}
    raw = json.loads(rejected[3][3])
    assert raw["InvoiceNo"] == "5" and raw["Quantity"] == "six" and raw["CustomerID"] == "17850.0"
    assert con.execute(
        "select list(source_row order by source_row) from raw.transactions"
    ).fetchall() == [([1, 10],)]
    log = con.execute("select rows_read, rows_loaded, rows_rejected from raw.load_log").fetchall()
    assert log == [(10, 2, 8)]
    kinds = [kind for kind, _, _ in report.reasons]
    assert "non-numeric quantity …" in kinds


def test_malformed_csv_lines_are_rejected_and_other_rows_keep_their_numbers(tmp_path, con):
    path = write(
        tmp_path / "broken.csv",
        [
            UCI_HEADER,
            uci_line(invoice="1"),
            uci_line(invoice="2") + ",extra",
            uci_line(invoice="3"),
            "4,short,row",
            uci_line(invoice="5", description='"two\nlines"'),
            uci_line(invoice="6"),
            uci_line(invoice="7", quantity="x"),
        ],
    )
    report = load_path(con, path, QUIET)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (7, 4, 3)
    assert con.execute(
        "select source_row, invoice_id from raw.transactions order by source_row"
    ).fetchall() == [(1, "1"), (3, "3"), (5, "5"), (6, "6")]
    rejected = con.execute(
        "select source_row, reason, raw_values from raw.rejected_rows order by 1"
    ).fetchall()
    assert [row for row, _, _ in rejected] == [2, 4, 7]
    assert all(reason.startswith("malformed CSV line") for _, reason, _ in rejected[:2])
    assert json.loads(rejected[1][2]) == {"line": "4,short,row"}
    assert json.loads(rejected[2][2])["InvoiceNo"] == "7"  # found again after renumbering


def test_latin1_csv_is_detected_and_read(tmp_path, con):
    path = write(
        tmp_path / "latin1.csv",
        [UCI_HEADER, uci_line(description="CAFÉ AU LAIT BOWL", country="Españа".replace("а", "a"))],
        encoding="latin-1",
    )
    report = load_path(con, path, QUIET)
    assert con.execute("select description, country from raw.transactions").fetchall() == [
        ("CAFÉ AU LAIT BOWL", "España")
    ]
    assert any("not UTF-8" in note for note in report.notes)
    assert con.execute("select encoding from raw.load_log").fetchall() == [("cp1252",)]


def test_stated_encoding_is_used_and_checked(tmp_path, con):
    path = write(tmp_path / "cp.csv", [UCI_HEADER, uci_line(description="PRICE £5 €")], "cp1252")
    load_path(con, path, LoadOptions(encoding="cp1252", show_progress=False))
    assert con.execute("select description from raw.transactions").fetchall() == [("PRICE £5 €",)]
    wrong = write(tmp_path / "u16.csv", [UCI_HEADER, uci_line(invoice="9")], "utf-16")
    report = load_path(con, wrong, QUIET)  # UTF-16 with a byte-order mark is detected
    assert report.rows_loaded == 1
    with pytest.raises(LoadError, match="not valid utf-8 text"):
        load_path(
            con,
            write(tmp_path / "x.csv", [UCI_HEADER, uci_line(description="CAFÉ")], "latin-1"),
            LoadOptions(encoding="utf-8", show_progress=False),
        )


def test_iso_forms_parse_without_help(tmp_path, con):
    _, loaded = load_dates(
        tmp_path,
        con,
        [
            "2010-12-01 08:26:00",
            "2010-12-01T08:26",
            "2010-12-01",
            "2010/12/01 8:26",
            "2010-12-01 08:26:00+01:00",
            "2010-12-01 8:26 PM",
        ],
    )
    assert [ts for _, ts in loaded] == [
        dt.datetime(2010, 12, 1, 8, 26),
        dt.datetime(2010, 12, 1, 8, 26),
        dt.datetime(2010, 12, 1),
        dt.datetime(2010, 12, 1, 8, 26),
        dt.datetime(2010, 12, 1, 8, 26),
        dt.datetime(2010, 12, 1, 20, 26),
    ]


def test_day_first_dates_with_stated_format(tmp_path, con):
    options = LoadOptions(date_format="%d/%m/%Y %H:%M", show_progress=False)
    report, loaded = load_dates(
        tmp_path, con, ["01/02/2011 08:26", "03/04/2011 10:00", "2011-04-05 10:00"], options
    )
    assert loaded == [(1, dt.datetime(2011, 2, 1, 8, 26)), (2, dt.datetime(2011, 4, 3, 10, 0))]
    reason = con.execute("select reason from raw.rejected_rows").fetchall()[0][0]
    assert "expected format %d/%m/%Y %H:%M" in reason  # a stated format applies to every value
    assert con.execute("select date_format from raw.load_log").fetchall() == [("%d/%m/%Y %H:%M",)]


def test_day_order_is_read_from_unambiguous_values(tmp_path, con):
    report, loaded = load_dates(tmp_path, con, ["01/02/2011 08:26", "25/12/2011 8:05", "3.4.11"])
    assert [ts for _, ts in loaded] == [
        dt.datetime(2011, 2, 1, 8, 26),
        dt.datetime(2011, 12, 25, 8, 5),
        dt.datetime(2011, 4, 3),
    ]
    assert any("day first" in note for note in report.notes)


def test_month_first_text_dates_as_in_uci_csv_exports(tmp_path, con):
    _, loaded = load_dates(
        tmp_path, con, ["12/1/2010 8:26", "12/13/2010 14:05", "1/2/2011 9:00 AM"]
    )
    assert [ts for _, ts in loaded] == [
        dt.datetime(2010, 12, 1, 8, 26),
        dt.datetime(2010, 12, 13, 14, 5),
        dt.datetime(2011, 1, 2, 9, 0),
    ]


def test_ambiguous_dates_are_an_error_with_a_suggested_format(tmp_path, con):
    with pytest.raises(LoadError) as error:
        load_dates(tmp_path, con, ["01/02/2011 08:26", "03/04/2011 10:00"])
    message = str(error.value)
    assert "ambiguous dates" in message and "row 1" in message
    assert "--date-format '%d/%m/%Y %H:%M'" in message and "'%m/%d/%Y %H:%M'" in message
    assert con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'raw'"
    ).fetchall() == [(0,)]


def test_mixed_day_first_and_month_first_is_an_error(tmp_path, con):
    with pytest.raises(LoadError, match="mix day-first and month-first"):
        load_dates(tmp_path, con, ["25/12/2011 08:26", "12/25/2011 08:26"])


def test_ambiguous_dates_reuse_the_order_settled_by_an_earlier_load(tmp_path, con):
    load_dates(tmp_path, con, ["25/12/2011 08:26"])
    later = write(tmp_path / "later.csv", [UCI_HEADER, uci_line(date="01/02/2012 10:00")])
    report = load_path(con, later, QUIET)
    assert con.execute(
        "select invoiced_at from raw.transactions where source_file like '%later.csv'"
    ).fetchall() == [(dt.datetime(2012, 2, 1, 10, 0),)]
    assert any("earlier loads" in note for note in report.notes)


def test_invalid_stated_date_format_is_an_error(tmp_path, con):
    with pytest.raises(LoadError, match="invalid date format"):
        load_dates(
            tmp_path, con, ["2011-01-01"], LoadOptions(date_format="%Q", show_progress=False)
        )


def test_suggested_formats_follow_the_example_shape():
    assert suggest_formats("01.02.11") == ("%d.%m.%y", "%m.%d.%y")
    assert suggest_formats("1/2/2011 8:05:07 PM") == (
        "%d/%m/%Y %I:%M:%S %p",
        "%m/%d/%Y %I:%M:%S %p",
    )

"""Loading the optional inputs: customer attributes and engagement events.

Each test writes small files and checks what the warehouse holds afterwards: the long attribute
rows, the event kinds, the rejected rows with file, line and reason, skips and replacements on
a second load, and that a failed load leaves what was loaded before untouched.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from segmentation.io.contract import DEMO_SOURCE_PREFIX
from segmentation.io.warehouse import ensure_raw_tables
from segmentation.loading import LoadError
from segmentation.loading.sources import SourceOptions, load_source

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

EVENTS_MAPPING = """\
columns: {customer_id: user, occurred_at: ts, event_type: action}
event_types: {session: [visit], view: [pdp_view], cart: [basket_add], email_sent: [send],
  email_opened: [open], email_clicked: [click], other: [review]}
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def _grocer_file(folder: Path) -> Path:
    """A loyalty file shaped like a grocer's households table (other columns, other names)."""
    header = (
        "AGE_DESC,MARITAL_STATUS_CODE,INCOME_DESC,HOMEOWNER_DESC,HH_COMP_DESC,"
        "HOUSEHOLD_SIZE_DESC,KID_CATEGORY_DESC,household_key"
    )
    lines = [
        "65+,A,35-49K,Homeowner,2 Adults No Kids,2,None/Unknown,1",
        "45-54,A,50-74K,Homeowner,2 Adults Kids,3,1,7",
        "25-34,U,25-34K,Unknown,2 Adults Kids,4,2,8",
        "25-34,U,75-99K,Homeowner,2 Adults Kids,5+,3+,13",
        "45-54,B,50-74K,Homeowner,Single Female,1,None/Unknown,16",
    ]
    return _write(folder / "hh_demographic.csv", "\n".join([header, *lines]) + "\n")


def test_a_grocer_file_loads_through_the_example_mapping(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = _grocer_file(tmp_path)
    mapping = EXAMPLES / "customers_mapping_example.yml"
    report = load_source(con, path, SourceOptions("customers", mapping))
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (5, 5, 0)
    names = {
        row[0] for row in _rows(con, "select distinct attribute_name from raw.customer_attributes")
    }
    assert names == {
        "age_band", "marital_status", "income_band", "home_ownership",
        "household_composition", "household_size", "kids_count",
    }  # fmt: skip
    # "Unknown", "U" and "None/Unknown" mean not known: no row, never a category
    assert _rows(
        con,
        "select count(*) from raw.customer_attributes "
        "where attribute_value in ('Unknown', 'U', 'None/Unknown')",
    ) == [(0,)]
    household_8 = dict(
        _rows(
            con,
            "select attribute_name, attribute_value from raw.customer_attributes "
            "where customer_id = '8'",
        )
    )
    assert household_8 == {
        "age_band": "25-34", "income_band": "25-34K", "household_composition": "2 Adults Kids",
        "household_size": "4", "kids_count": "2",
    }  # fmt: skip
    # "5+" and "3+" are not numbers, so household size and kids count stay categorical
    types = dict(
        _rows(con, "select distinct attribute_name, attribute_type from raw.customer_attributes")
    )
    assert types["household_size"] == "categorical"


def test_without_a_mapping_every_other_column_is_an_attribute_and_numbers_are_numeric(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = _write(
        tmp_path / "customers.csv",
        "customer_id,Region,Kids Count\n12346,North,0\n12347,South,2\n12348,,1\n",
    )
    load_source(con, path, SourceOptions("customers"))
    rows = _rows(
        con,
        "select customer_id, attribute_name, attribute_value, attribute_type "
        "from raw.customer_attributes order by all",
    )
    assert rows == [
        ("12346", "kids_count", "0", "numeric"),
        ("12346", "region", "North", "categorical"),
        ("12347", "kids_count", "2", "numeric"),
        ("12347", "region", "South", "categorical"),
        ("12348", "kids_count", "1", "numeric"),
    ]


def test_duplicate_customers_are_rejected_with_file_line_and_reason(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = _write(
        tmp_path / "customers.csv",
        "customer_id,segment\n1,a\n2,b\n1,c\n,d\n3,e\n",
    )
    report = load_source(con, path, SourceOptions("customers"))
    assert (report.rows_loaded, report.rows_rejected) == (2, 3)
    rejected = _rows(
        con, "select source_file, source_row, reason from raw.rejected_rows order by source_row"
    )
    assert [(row[0], row[1]) for row in rejected] == [
        (path.as_posix(), 1),
        (path.as_posix(), 3),
        (path.as_posix(), 4),
    ]
    assert "customer '1' is on 2 rows of this file (rows 1, 3)" in rejected[0][2]
    assert rejected[2][2] == "customer id is empty"
    assert _rows(con, "select distinct customer_id from raw.customer_attributes order by 1") == [
        ("2",),
        ("3",),
    ]


def test_engagement_kinds_unknown_types_and_bad_timestamps(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    mapping = _write(tmp_path / "events.yml", EVENTS_MAPPING)
    path = _write(
        tmp_path / "events.csv",
        "user,ts,action\n"
        "1,2024-03-01 10:00:00,visit\n"
        "1,2024-03-01 10:01:00,pdp_view\n"
        "1,2024-03-02 09:00:00,review\n"
        "2,yesterday,visit\n"
        "2,2024-03-03 08:00:00,teleport\n"
        "2,2024-03-03 08:05:00,click\n",
    )
    report = load_source(con, path, SourceOptions("engagement", mapping))
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (6, 4, 2)
    kinds = _rows(
        con, "select source_row, event_type, event_kind from raw.engagement_events order by 1"
    )
    assert kinds == [
        (1, "visit", "session"),
        (2, "pdp_view", "view"),
        (3, "review", "other"),
        (6, "click", "email_clicked"),
    ]
    rejected = dict(_rows(con, "select source_row, reason from raw.rejected_rows"))
    assert rejected[4].startswith("timestamp 'yesterday' cannot be read")
    assert rejected[5].startswith("event type 'teleport' is not in the mapping")
    raw = _rows(con, "select raw_values from raw.rejected_rows where source_row = 5")[0][0]
    assert '"action":"teleport"' in raw


def test_typed_parquet_timestamps_load_as_they_are_and_equal_the_same_events_as_text(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """A Parquet TIMESTAMP (nanoseconds too) or DATE column is taken as typed, not parsed from
    text: the mapping's date_format, written for the shop's CSV exports, does not apply to it,
    and the rows equal those of the same events loaded from CSV text."""
    events = [
        ("1", "2024-03-01 10:00:00.123456789", "visit"),
        ("1", "2024-03-02 09:00:00", "click"),
        ("2", None, "visit"),
        ("2", "2024-03-03 08:00:00", "pdp_view"),
    ]
    values = ", ".join(f"('{c}', {'NULL' if t is None else repr(t)}, '{a}')" for c, t, a in events)
    source = f"select * from (values {values}) as e(user, ts, action)"
    mapping = _write(tmp_path / "events.yml", EVENTS_MAPPING + "date_format: '%d/%m/%Y %H:%M'\n")
    typed_file = tmp_path / "typed" / "events.parquet"
    typed_file.parent.mkdir()
    con.execute(
        f"copy (select user, cast(ts as timestamp_ns) as ts, action from ({source})) "
        f"to '{typed_file}' (format parquet)"
    )
    report = load_source(con, typed_file, SourceOptions("engagement", mapping))
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (4, 3, 1)
    events_sql = (
        "select customer_id, occurred_at, event_kind from raw.engagement_events order by source_row"
    )
    loaded = _rows(con, events_sql)
    rejected = _rows(con, "select source_row, reason from raw.rejected_rows")
    assert rejected == [(3, "timestamp is empty")]

    # the same events as a shop's CSV export, in the mapping's date format
    fresh = duckdb.connect()
    ensure_raw_tables(fresh)
    lines = ["user,ts,action"]
    for customer, ts, action in events:
        text = (
            ""
            if ts is None
            else fresh.execute(
                "select strftime(cast(? as timestamp), '%d/%m/%Y %H:%M')", [ts]
            ).fetchall()[0][0]
        )
        lines.append(f"{customer},{text},{action}")
    text_file = _write(tmp_path / "events.csv", "\n".join(lines) + "\n")
    load_source(fresh, text_file, SourceOptions("engagement", mapping))
    from_text = fresh.execute(events_sql).fetchall()
    # the text has whole minutes; the typed values keep their seconds and microseconds
    assert [(c, t.replace(second=0, microsecond=0), k) for c, t, k in loaded] == from_text
    assert loaded[0][1].microsecond == 123456
    date_file = tmp_path / "dates.parquet"
    con.execute(
        f"copy (select 'x' as user, date '2024-05-06' as ts, 'visit' as action) "
        f"to '{date_file}' (format parquet)"
    )
    load_source(con, date_file, SourceOptions("engagement", mapping))
    midnight = _rows(con, "select occurred_at from raw.engagement_events where customer_id = 'x'")
    assert midnight == [(dt.datetime(2024, 5, 6),)]


def test_a_typed_parquet_as_of_date_loads_as_it_is_and_text_dates_follow_the_mapping(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """The attributes' as-of date follows the events' rule: a Parquet DATE is taken as it is
    (the mapping's date_format is for text), a text date is read with the mapping's format."""
    mapping = _write(
        tmp_path / "customers.yml",
        "columns: {customer_id: household, as_of_date: snapshot}\ndate_format: '%d/%m/%Y'\n",
    )
    typed_file = tmp_path / "typed.parquet"
    con.execute(
        "copy (select * from (values ('1', date '2024-05-06', 'North'), ('2', NULL, 'South')) "
        f"as c(household, snapshot, region)) to '{typed_file}' (format parquet)"
    )
    text_file = _write(tmp_path / "text.csv", "household,snapshot,region\n3,07/05/2024,East\n")
    for path in (typed_file, text_file):
        report = load_source(con, path, SourceOptions("customers", mapping))
        assert report.rows_rejected == 0
    dates = _rows(con, "select customer_id, as_of_date from raw.customer_attributes order by 1")
    assert dates == [("1", dt.date(2024, 5, 6)), ("2", None), ("3", dt.date(2024, 5, 7))]


def test_a_second_load_skips_loaded_files_and_replaces_changed_ones_only_when_asked(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    _write(
        folder / "day1.csv", "customer_id,occurred_at,event_type\n1,2024-01-01 10:00:00,session\n"
    )
    load_source(con, folder, SourceOptions("engagement"))
    _write(folder / "day2.csv", "customer_id,occurred_at,event_type\n2,2024-01-02 10:00:00,view\n")
    again = load_source(con, folder, SourceOptions("engagement"))
    assert again.skipped == [((folder / "day1.csv").as_posix(), "already loaded")]
    assert _rows(con, "select count(*) from raw.engagement_events") == [(2,)]
    _write(folder / "day1.csv", "customer_id,occurred_at,event_type\n1,2024-01-01 11:00:00,cart\n")
    with pytest.raises(LoadError, match="changed since they were loaded"):
        load_source(con, folder, SourceOptions("engagement"))
    assert _rows(con, "select count(*) from raw.engagement_events") == [(2,)]
    load_source(con, folder, SourceOptions("engagement", replace_changed=True))
    assert _rows(con, "select customer_id, event_kind from raw.engagement_events order by 1") == [
        ("1", "cart"),
        ("2", "view"),
    ]
    log = _rows(con, "select file_path, is_current from raw.source_load_log order by loaded_at, 1")
    assert [current for _, current in log].count(False) == 1


def test_a_failed_load_keeps_what_was_loaded_before(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    good = _write(
        tmp_path / "good.csv", "customer_id,occurred_at,event_type\n1,2024-01-01,session\n"
    )
    load_source(con, good, SourceOptions("engagement"))
    bad = _write(
        tmp_path / "bad.csv", "customer_id,occurred_at,event_type\n1,soon,session\n2,later,view\n"
    )
    with pytest.raises(LoadError, match="every one of the 2 rows was rejected"):
        load_source(con, bad, SourceOptions("engagement"))
    assert _rows(con, "select count(*) from raw.engagement_events") == [(1,)]
    assert _rows(con, "select count(*) from raw.rejected_rows") == [(0,)]
    assert _rows(con, "select count(*) from raw.source_load_log") == [(1,)]


def test_real_files_replace_demo_rows_of_the_same_input(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    ensure_raw_tables(con)
    con.execute(
        "insert into raw.engagement_events values ('9', '2024-01-01', 'session', 'session', ?, 1)",
        [f"{DEMO_SOURCE_PREFIX}seed=42/engagement"],
    )
    con.execute(
        "insert into raw.customer_attributes values "
        "('9', 'region', 'North', 'categorical', null, null, ?, 1)",
        [f"{DEMO_SOURCE_PREFIX}seed=42/customers"],
    )
    path = _write(
        tmp_path / "events.csv", "customer_id,occurred_at,event_type\n1,2024-01-01,session\n"
    )
    report = load_source(con, path, SourceOptions("engagement"))
    assert any("removed 1 demo rows" in note for note in report.notes)
    assert _rows(con, "select customer_id from raw.engagement_events") == [("1",)]
    # the other input keeps its demo rows until a file of its own comes
    assert _rows(con, "select count(*) from raw.customer_attributes") == [(1,)]


def test_mapping_errors_name_the_problem(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = _write(tmp_path / "events.csv", "who,when,what\n1,2024-01-01,session\n")
    with pytest.raises(LoadError, match="no column for customer_id, occurred_at, event_type"):
        load_source(con, path, SourceOptions("engagement"))
    mapping = _write(tmp_path / "bad.yml", "event_types: {sessions: [visit]}\n")
    with pytest.raises(LoadError, match="unknown event kinds sessions"):
        load_source(con, path, SourceOptions("engagement", mapping))
    shutil.rmtree(tmp_path / "missing", ignore_errors=True)
    with pytest.raises(LoadError, match="no such file or folder"):
        load_source(con, tmp_path / "missing", SourceOptions("customers"))

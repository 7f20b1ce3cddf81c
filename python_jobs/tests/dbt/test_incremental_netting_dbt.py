"""Incremental customer tables against a full rebuild, through real `dbt run`s (marked dbt).

The duplicate search and the netted tables recompute only the customers whose line_state
(base_shop__customer_line_states) changed. Each scenario changes the raw log or the vars, builds
incrementally, copies the duplicate search, the netted tables and the feature mart, rebuilds with
`--full-refresh` and requires the same rows on the tables' keys. The scenarios share one small
demo warehouse; each starts from a built, consistent warehouse and leaves one behind, so any of
them also runs alone. The DuckDB file is opened only between dbt runs (one writer at a time).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from helpers import run_dbt

from segmentation.demo import DemoConfig, write_demo

pytestmark = pytest.mark.dbt

SELECT = ["--select", "+fct_customer_features"]
HELD_BACK_DAYS = 20
# a new day's file sorts after the demo's own file ("demo://seed=..."), the resent one before it
DAILY_FILE = "shop_export/2026-09-30.csv"
EARLY_FILE = "a_resent/2025-09-01.csv"
MID_LOG_AS_OF = "2026-03-15"
EVENING_START_HOUR = 20  # the project's default is 18
SENTINEL_DATE = dt.date(1900, 1, 1)
FLOAT_TOLERANCE = 1e-9
RAW_COLUMNS = (
    "invoice_id, stock_code, description, quantity, unit_price, invoiced_at, customer_id, country"
)
LINES = "intermediate.int_sale_lines_netted"
ORDERS = "intermediate.int_orders_netted"
LINE_STATES = "staging.base_shop__customer_line_states"
SEARCH = "staging.base_shop__duplicate_search"
# compared tables: name -> (relation, key)
COMPARED: dict[str, tuple[str, tuple[str, ...]]] = {
    "base_shop__duplicate_search": (SEARCH, ("customer_id", "source_file", "source_row")),
    "int_sale_lines_netted": (LINES, ("source_file", "source_row")),
    "int_orders_netted": (ORDERS, ("order_id", "customer_id")),
    "fct_customer_features": ("marts.fct_customer_features", ("customer_id",)),
}


@dataclass(frozen=True)
class Warehouse:
    """The shared demo warehouse, its dbt work folder and the demo's source_file."""

    database: Path
    work: Path
    demo_file: str

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """A connection to close before the next dbt run."""
        return duckdb.connect(str(self.database), read_only=read_only)

    def build(self, *extra: str, **vars_: Any) -> None:
        """`dbt run` of the feature mart and everything above it."""
        args = ["run", *SELECT, *extra]
        if vars_:
            args += ["--vars", json.dumps(vars_)]
        run_dbt(args, self.database, self.work)


@dataclass(frozen=True)
class Snapshot:
    """One table's rows (without line_state) sorted on its key, and its float columns."""

    frame: pd.DataFrame
    key: tuple[str, ...]
    float_columns: frozenset[str]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """A ~400-customer, 13-month demo log, built without its last 20 days (kept aside)."""
    work = tmp_path_factory.mktemp("incremental_netting")
    database = work / "demo.duckdb"
    with duckdb.connect(str(database)) as con:
        summary = write_demo(con, DemoConfig(customers=400, months=13, seed=11))
        con.execute("create schema side")
        con.execute(
            "create table side.held_back as select * from raw.transactions where invoiced_at"
            f" >= (select cast(max(invoiced_at) as date) - interval {HELD_BACK_DAYS - 1} day"
            " from raw.transactions)"
        )
        con.execute(
            "delete from raw.transactions where (source_file, source_row) in"
            " (select source_file, source_row from side.held_back)"
        )
    # the first build also loads the seed the staging models join (tests are left out)
    run_dbt(["build", *SELECT, "--resource-type", "seed", "model"], database, work)
    return Warehouse(database, work, summary.source_file)


def _snapshot(warehouse: Warehouse) -> dict[str, Snapshot]:
    """Copies of the compared tables as they are now."""
    snapshots = {}
    with warehouse.connect(read_only=True) as con:
        for name, (relation, key) in COMPARED.items():
            table = con.table(relation)
            columns = [column for column in table.columns if column != "line_state"]
            floats = {
                column
                for column, kind in zip(table.columns, table.types, strict=True)
                if str(kind) in ("DOUBLE", "FLOAT") or str(kind).startswith("DECIMAL")
            }
            frame = con.sql(
                f"select {', '.join(columns)} from {relation} order by {', '.join(key)}"
            ).df()
            snapshots[name] = Snapshot(frame, key, frozenset(floats))
    return snapshots


def _differences(name: str, got: Snapshot, expected: Snapshot) -> list[str]:
    """What differs between two copies of a table, matched on its key."""
    key = list(expected.key)
    if list(got.frame.columns) != list(expected.frame.columns):
        return [f"{name}: columns {list(got.frame.columns)} != {list(expected.frame.columns)}"]
    problems = []
    for label, snapshot in (("incremental", got), ("full refresh", expected)):
        repeated = snapshot.frame[snapshot.frame.duplicated(key, keep=False)]
        if len(repeated):
            problems.append(
                f"{name}: {len(repeated)} {label} rows share a key, e.g."
                f" {repeated[key].head(3).to_dict('records')}"
            )
    merged = got.frame.merge(
        expected.frame, on=key, how="outer", suffixes=("_got", "_expected"), indicator=True
    )
    for side, label in (("left_only", "only incremental"), ("right_only", "only full refresh")):
        extra = merged[merged["_merge"] == side]
        if len(extra):
            problems.append(
                f"{name}: {len(extra)} rows {label}, e.g. {extra[key].head(3).to_dict('records')}"
            )
    both = merged[merged["_merge"] == "both"]
    for column in expected.frame.columns.difference(key, sort=False):
        left, right = both[f"{column}_got"], both[f"{column}_expected"]
        if column in expected.float_columns:
            same = np.isclose(
                left.to_numpy(dtype=float, na_value=np.nan),
                right.to_numpy(dtype=float, na_value=np.nan),
                rtol=FLOAT_TOLERANCE,
                atol=FLOAT_TOLERANCE,
                equal_nan=True,
            )
        else:
            equal = (left == right).fillna(False).astype(bool)
            same = (equal | (left.isna() & right.isna())).to_numpy()
        if not same.all():
            first = both[~same].iloc[0]
            problems.append(
                f"{name}.{column}: {int((~same).sum())} rows differ, e.g. at"
                f" {first[key].to_dict()}: incremental {first[f'{column}_got']!r},"
                f" full refresh {first[f'{column}_expected']!r}"
            )
    return problems


def _assert_same_rows(
    got: dict[str, Snapshot], expected: dict[str, Snapshot], scenario: str
) -> None:
    """The compared tables hold the same rows: exact, floats within FLOAT_TOLERANCE."""
    problems = [
        problem for name in COMPARED for problem in _differences(name, got[name], expected[name])
    ]
    assert not problems, f"{scenario}:\n" + "\n".join(problems[:20])


def _incremental_equals_full_refresh(
    warehouse: Warehouse, scenario: str, **vars_: Any
) -> dict[str, Snapshot]:
    """Build incrementally, then with --full-refresh, and require the same rows."""
    warehouse.build(**vars_)
    _assert_states_current(warehouse)
    incremental = _snapshot(warehouse)
    warehouse.build("--full-refresh", **vars_)
    rebuilt = _snapshot(warehouse)
    _assert_same_rows(incremental, rebuilt, scenario)
    return rebuilt


def _assert_states_current(warehouse: Warehouse) -> None:
    """Every row of a customer carries the customer's current line_state (nothing stale is
    left); the duplicate search's rows without customer have none."""
    with warehouse.connect(read_only=True) as con:
        for relation in (SEARCH, LINES, ORDERS):
            stale = con.execute(
                f"select count(*) from (select customer_id, line_state from {relation}"
                " where customer_id is not null"
                f" except select customer_id, line_state from {LINE_STATES})"
            ).fetchall()[0][0]
            assert stale == 0, f"{relation}: {stale} customers keep an outdated line_state"


def _line_states(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Each customer's current line_state."""
    return dict(con.execute(f"select customer_id, line_state from {LINE_STATES}").fetchall())


def test_daily_file_with_a_correction_and_a_deletion_nets_like_a_full_rebuild(warehouse):
    demo = warehouse.demo_file
    with warehouse.connect() as con:
        states_before = _line_states(con)
        # a corrected file: one unit fewer on a purchase that a later cancellation reduced
        corrected_row, corrected_customer = con.execute(
            f"select source_row, customer_id from {LINES} where source_file = ?"
            " and cancelled_units > 0 and purchased_units >= 2 order by source_row limit 1",
            [demo],
        ).fetchall()[0]
        # a deleted line: a cancellation of another customer that reversed some units
        deleted_row, deleted_customer = con.execute(
            "select raw.source_row, raw.customer_id from raw.transactions as raw"
            " where raw.source_file = ? and raw.invoice_id like 'C%' and raw.customer_id <> ?"
            f" and exists (select 1 from {LINES} as sold where sold.customer_id = raw.customer_id"
            " and sold.stock_code = raw.stock_code and sold.cancelled_units > 0)"
            " order by raw.source_row limit 1",
            [demo, corrected_customer],
        ).fetchall()[0]
        held_back_customers = {
            customer
            for (customer,) in con.execute(
                "select distinct customer_id from side.held_back where customer_id is not null"
            ).fetchall()
        }
        touched = held_back_customers | {corrected_customer, deleted_customer}
        untouched_row = con.execute(
            f"select source_file, source_row from {LINES} where customer_id not in"
            " (select unnest(?)) order by customer_id, source_row limit 1",
            [sorted(touched)],
        ).fetchall()[0]
        assert 0 < len(touched) < len(states_before) / 2

        con.execute(
            f"insert into raw.transactions ({RAW_COLUMNS}, source_file, source_row)"
            f" select {RAW_COLUMNS}, ?, row_number() over (order by source_row)"
            " from side.held_back",
            [DAILY_FILE],
        )
        con.execute(
            "update raw.transactions set quantity = quantity - 1"
            " where source_file = ? and source_row = ?",
            [demo, corrected_row],
        )
        con.execute(
            "delete from raw.transactions where source_file = ? and source_row = ?",
            [demo, deleted_row],
        )
        # a mark no recomputation writes, on a row of an untouched and of a changed customer
        con.execute(
            f"update {LINES} set invoice_date = ? where (source_file, source_row) in"
            " ((?, ?), (?, ?))",
            [SENTINEL_DATE, *untouched_row, demo, corrected_row],
        )

    warehouse.build()

    with warehouse.connect() as con:
        states_after = _line_states(con)
        changed = {
            customer
            for customer in states_before.keys() | states_after.keys()
            if states_before.get(customer) != states_after.get(customer)
        }
        assert changed == touched, (
            f"line_state changed for {sorted(changed - touched)[:5]} (untouched) and not for"
            f" {sorted(touched - changed)[:5]} (touched)"
        )
        marked = set(
            con.execute(
                f"select source_file, source_row from {LINES} where invoice_date = ?",
                [SENTINEL_DATE],
            ).fetchall()
        )
        assert marked == {tuple(untouched_row)}, (
            f"rows still marked after the incremental run: {marked}; expected only the"
            f" untouched customer's row {untouched_row} (kept) and not ({demo!r},"
            f" {corrected_row}) (recomputed)"
        )
        con.execute(
            f"update {LINES} set invoice_date = cast(invoiced_at as date) where invoice_date = ?",
            [SENTINEL_DATE],
        )
    _assert_states_current(warehouse)
    incremental = _snapshot(warehouse)
    warehouse.build("--full-refresh")
    _assert_same_rows(incremental, _snapshot(warehouse), "daily file, correction, deletion")


def test_an_earlier_file_with_a_copy_of_a_line_makes_the_old_line_the_duplicate(warehouse):
    demo = warehouse.demo_file
    with warehouse.connect() as con:
        copied_row, customer = con.execute(
            f"select source_row, customer_id from {LINES} where source_file = ?"
            " and cancelled_units > 0 order by source_row limit 1",
            [demo],
        ).fetchall()[0]
        con.execute(
            f"insert into raw.transactions ({RAW_COLUMNS}, source_file, source_row)"
            f" select {RAW_COLUMNS}, ?, 1 from raw.transactions"
            " where source_file = ? and source_row = ?",
            [EARLY_FILE, demo, copied_row],
        )

    warehouse.build()

    old, new = (demo, copied_row), (EARLY_FILE, 1)
    with warehouse.connect(read_only=True) as con:
        flags = dict(
            ((file, row), flag)
            for file, row, flag in con.execute(
                "select source_file, source_row, is_duplicate from staging.stg_shop__transactions"
                " where customer_id = ? and (source_file, source_row) in ((?, ?), (?, ?))",
                [customer, *old, *new],
            ).fetchall()
        )
        assert flags == {old: True, new: False}
        netted = set(
            con.execute(
                f"select source_file, source_row from {LINES} where customer_id = ?", [customer]
            ).fetchall()
        )
        assert new in netted and old not in netted
    _assert_states_current(warehouse)
    incremental = _snapshot(warehouse)
    warehouse.build("--full-refresh")
    _assert_same_rows(incremental, _snapshot(warehouse), "duplicate flip")


def test_changed_vars_recompute_every_customer(warehouse):
    baseline = _snapshot(warehouse)

    # one var at a time, so a fingerprint that ignores either var leaves customers stale
    as_of = _incremental_equals_full_refresh(
        warehouse, f"as_of_date {MID_LOG_AS_OF}", as_of_date=MID_LOG_AS_OF
    )
    features = as_of["fct_customer_features"].frame
    assert (features["as_of_date"] == pd.Timestamp(MID_LOG_AS_OF)).all()
    assert len(as_of["int_sale_lines_netted"].frame) < len(baseline["int_sale_lines_netted"].frame)

    # the hour only reclassifies orders: checked row by row instead of by a second rebuild
    warehouse.build(as_of_date=MID_LOG_AS_OF, evening_start_hour=EVENING_START_HOUR)
    _assert_states_current(warehouse)
    orders = _snapshot(warehouse)["int_orders_netted"].frame
    expected_evening = orders["ordered_at"].dt.hour >= EVENING_START_HOUR
    wrong = orders[orders["is_evening"] != expected_evening]
    assert wrong.empty, f"{len(wrong)} orders keep the old is_evening, e.g.\n{wrong.head(3)}"
    assert expected_evening.sum() < as_of["int_orders_netted"].frame["is_evening"].sum()

    # back to the defaults (both vars change): the rows of the first build again
    warehouse.build()
    _assert_states_current(warehouse)
    _assert_same_rows(_snapshot(warehouse), baseline, "back to the default vars")


def test_a_failed_build_keeps_the_last_good_rows(warehouse):
    demo = warehouse.demo_file
    with warehouse.connect() as con:
        changed_rows = [
            row
            for (row,) in con.execute(
                f"select min(source_row) from {LINES} where source_file = ?"
                " group by customer_id order by customer_id limit 3",
                [demo],
            ).fetchall()
        ]
        con.execute(
            "update raw.transactions set quantity = quantity + 1"
            " where source_file = ? and source_row in (select unnest(?))",
            [demo, changed_rows],
        )
    run_dbt(
        ["run", "--select", "+base_shop__customer_line_states"], warehouse.database, warehouse.work
    )

    with warehouse.connect() as con:
        stale = con.execute(
            f"select count(distinct customer_id) from (select customer_id, line_state"
            f" from {LINES} except select customer_id, line_state from {LINE_STATES})"
        ).fetchall()[0][0]
        assert stale == len(changed_rows)
        before = con.sql(f"select * from {LINES} order by source_file, source_row").df()
        # the staging view joins this table: the model's query fails after its pre-hook ran
        con.execute("alter table staging.base_shop__stock_codes rename to stock_codes_away")

    log = warehouse.work / "logs" / "dbt.log"
    log_start = log.stat().st_size
    try:
        done = run_dbt(
            ["run", "--select", "int_sale_lines_netted"],
            warehouse.database,
            warehouse.work,
            check=False,
        )
    finally:
        with warehouse.connect() as con:
            con.execute("alter table staging.stock_codes_away rename to base_shop__stock_codes")
    assert done.returncode != 0 and "base_shop__stock_codes" in done.stdout, done.stdout[-3000:]
    with log.open(encoding="utf-8", errors="replace") as text:
        text.seek(log_start)
        assert re.search(r"delete from \S*int_sale_lines_netted", text.read()), (
            "the pre-hook did not run before the failure"
        )

    with warehouse.connect(read_only=True) as con:
        after = con.sql(f"select * from {LINES} order by source_file, source_row").df()
    pd.testing.assert_frame_equal(after, before, check_exact=True)

    # the next build recomputes the stale customers
    warehouse.build()
    _assert_states_current(warehouse)


def test_tables_of_an_earlier_version_are_recomputed_without_full_refresh(warehouse):
    # Tables built before the netted tables kept line states had an as_of_date column and no
    # line_state: the next ordinary build must empty, resync and recompute them.
    expected = _snapshot(warehouse)
    with warehouse.connect() as con:
        for relation in (LINES, ORDERS):
            con.execute(f"alter table {relation} drop column line_state")
            con.execute(f"alter table {relation} add column as_of_date date")
            con.execute(f"update {relation} set as_of_date = date '2000-01-01'")
        # a wrong value the recomputation must replace
        con.execute(f"update {LINES} set purchased_units = purchased_units + 1")
    warehouse.build()
    _assert_states_current(warehouse)
    with warehouse.connect(read_only=True) as con:
        for relation in (LINES, ORDERS):
            columns = {
                name
                for (name,) in con.execute(
                    f"select name from pragma_table_info('{relation}')"
                ).fetchall()
            }
            assert "line_state" in columns and "as_of_date" not in columns, (relation, columns)
    _assert_same_rows(_snapshot(warehouse), expected, "tables of an earlier version")

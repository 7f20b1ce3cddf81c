"""The engine harness's parts that need no engine: moving tables, comparing them, the local
Spark settings against profiles.yml, the appended day; and a throwaway PostgreSQL cluster
where the server programs and the adapter are installed."""

from __future__ import annotations

import datetime as dt
import decimal
import socket
from pathlib import Path

import duckdb
import jinja2
import pytest
import yaml
from helpers import REPO_ROOT

from segmentation.engines import harness, postgres, spark, transfer
from segmentation.engines.compare import Rows, compare, values_equal

COLUMNS = ("customer_id", "monetary_amount", "frequency_orders", "first_order_at")


def _rows(*rows: tuple) -> Rows:
    return Rows(COLUMNS, tuple(rows))


REFERENCE = _rows(
    ("a", 120.5, 3, dt.datetime(2025, 1, 2, 10, 0)),
    ("b", 1 / 3, 1, dt.datetime(2025, 3, 4, 18, 30)),
)


def test_equal_tables_compare_equal_within_float_rounding() -> None:
    other = _rows(
        ("b", 1 / 3 + 1e-17, 1, dt.datetime(2025, 3, 4, 18, 30)),
        ("a", 120.5, 3, dt.datetime(2025, 1, 2, 10, 0, tzinfo=dt.UTC)),
    )
    result = compare("t", REFERENCE, other, "customer_id")
    assert result.ok, result.summary()
    assert result.summary() == "t: 2 rows equal in every column"


def test_a_value_off_by_more_than_the_tolerance_is_reported() -> None:
    # what a DECIMAL average with 5 digits does to a share
    other = _rows(
        ("a", 120.5, 3, dt.datetime(2025, 1, 2, 10, 0)),
        ("b", 0.33333, 1, dt.datetime(2025, 3, 4, 18, 30)),
    )
    result = compare("t", REFERENCE, other, "customer_id")
    assert not result.ok
    assert result.value_differences == {"monetary_amount": 1}
    assert "customer_id=b" in result.summary()


def test_kinds_missing_rows_and_columns_are_reported() -> None:
    other = Rows(
        ("customer_id", "monetary_amount", "frequency_orders", "extra"),
        (("a", decimal.Decimal("120.5"), 3, 1), ("c", decimal.Decimal("1"), 1, 1)),
    )
    result = compare("t", REFERENCE, other, "customer_id")
    assert result.kind_differences == {"monetary_amount": ("float", "decimal")}
    assert result.missing_keys == ["b"] and result.extra_keys == ["c"]
    assert result.missing_columns == ["first_order_at"] and result.extra_columns == ["extra"]
    assert not result.value_differences


def test_values_equal_treats_null_and_zero_apart() -> None:
    assert values_equal(None, None)
    assert not values_equal(None, 0.0)
    assert values_equal(0.0, 0)
    assert not values_equal("Friday", "Sunday")
    assert values_equal(1e12, 1e12 * (1 + 1e-12))
    assert not values_equal(1.0, 1.0 + 1e-8)


def test_engine_types_of_every_duckdb_type_the_project_writes() -> None:
    assert transfer.engine_type("DOUBLE", "postgres") == "double precision"
    assert transfer.engine_type("DOUBLE", "spark") == "double"
    assert transfer.engine_type("VARCHAR", "spark") == "string"
    assert transfer.engine_type("DECIMAL(18,3)", "postgres") == "decimal(18, 3)"
    with pytest.raises(ValueError, match="no spark type for the DuckDB type 'UBIGINT'"):
        transfer.engine_type("UBIGINT", "spark")


def test_a_table_travels_as_parquet_with_its_types(tmp_path: Path) -> None:
    con = duckdb.connect()
    con.execute("create schema ml")
    con.execute(
        "create table ml.m as select 'x' as name, 1.5::double as value, 3::bigint as n,"
        " date '2026-01-02' as day union all select 'y', null, 4, null"
    )
    copy = transfer.export_table(con, "ml", "m", tmp_path, where="n = 4", append=True)
    assert copy.columns == (
        ("name", "VARCHAR"),
        ("value", "DOUBLE"),
        ("n", "BIGINT"),
        ("day", "DATE"),
    )
    assert copy.rows == 1 and copy.append
    manifest = tmp_path / "tables.json"
    transfer.write_manifest([copy], manifest)
    assert transfer.read_manifest(manifest) == [copy]
    assert duckdb.sql(f"select * from read_parquet('{copy.path}')").fetchall() == [
        ("y", None, 4, None)
    ]
    assert transfer.create_table_sql(copy, "spark") == (
        "create table ml.m (name string, value double, n bigint, day date) using parquet"
    )


def test_the_next_day_repeats_the_last_day_one_day_later_under_new_ids(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    con = duckdb.connect(str(database))
    con.execute("create schema raw")
    con.execute(
        "create table raw.transactions (invoice_id varchar, quantity bigint,"
        " invoiced_at timestamp, customer_id varchar, source_file varchar, source_row bigint)"
    )
    con.execute(
        "insert into raw.transactions values"
        " ('1', 2, '2026-09-29 10:00', 'a', 'f', 1),"
        " ('2', 1, '2026-09-30 11:00', 'a', 'f', 2),"
        " ('C3', -1, '2026-09-30 12:00', 'b', 'f', 3)"
    )
    con.close()

    assert harness.append_next_day(database) == 2

    with duckdb.connect(str(database), read_only=True) as con:
        added = con.execute(
            "select invoice_id, quantity, invoiced_at, customer_id, source_row"
            " from raw.transactions where source_file = ? order by source_row",
            [harness.NEXT_DAY_SOURCE],
        ).fetchall()
    assert added == [
        ("2-D2", 1, dt.datetime(2026, 10, 1, 11, 0), "a", 1),
        ("C3-D2", -1, dt.datetime(2026, 10, 1, 12, 0), "b", 2),
    ]


def _render(value: object, env: dict[str, str]) -> str:
    def env_var(name: str, default: str | None = None) -> str:
        return env.get(name, default or "")

    environment = jinja2.Environment()
    environment.filters["as_number"] = str  # dbt's filter; the text is what is compared here
    return environment.from_string(str(value)).render(env_var=env_var)


def test_the_spark_mover_opens_the_warehouse_the_spark_target_builds(tmp_path: Path) -> None:
    profile = yaml.safe_load((REPO_ROOT / "profiles.yml").read_text())
    target = profile["segments"]["outputs"]["spark"]
    env = spark.process_env(tmp_path)
    rendered = {key: _render(value, env) for key, value in target["server_side_parameters"].items()}
    assert rendered == spark.session_settings(tmp_path)
    assert target["method"] == "session"
    # loopback only
    assert rendered["spark.driver.bindAddress"] == rendered["spark.driver.host"] == "127.0.0.1"


def test_the_postgres_target_reads_what_the_harness_sets() -> None:
    profile = yaml.safe_load((REPO_ROOT / "profiles.yml").read_text())
    target = profile["segments"]["outputs"]["postgres"]
    server = postgres.PostgresServer("127.0.0.1", 54321, "postgres", "segments", Path("/x"))
    rendered = {key: _render(value, server.dbt_env()) for key, value in target.items()}
    assert (rendered["host"], rendered["port"], rendered["dbname"]) == (
        "127.0.0.1",
        "54321",
        "segments",
    )
    assert profile["segments"]["target"] == "duckdb"


def test_an_unknown_engine_is_named() -> None:
    assert harness.missing_requirements(["oracle"]) == {
        "oracle": ["unknown engine 'oracle' (known: postgres, spark)"]
    }


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_throwaway_cluster_listens_on_loopback_and_is_gone_afterwards(tmp_path: Path) -> None:
    pytest.importorskip("psycopg2")
    try:
        postgres.server_bin_dir()
    except postgres.PostgresUnavailable:
        pytest.skip("PostgreSQL server programs not installed")
    log = tmp_path / "server.log"
    with (
        pytest.raises(RuntimeError, match="boom"),
        postgres.throwaway_postgres(log=log) as server,
    ):
        assert _listening(server.port)
        con = server.connect()
        with con.cursor() as cursor:
            cursor.execute("show listen_addresses")
            assert cursor.fetchall() == [("127.0.0.1",)]
        con.close()
        raise RuntimeError("boom")  # a failing step still stops the server
    assert not _listening(server.port)
    assert not server.folder.exists()
    assert "database system is shut down" in log.read_text()

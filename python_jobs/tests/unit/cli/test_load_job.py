"""The `segmentation load` command: options, summary output and errors."""

from __future__ import annotations

import argparse

import duckdb
import pytest
from helpers import UCI_HEADER, parse_job_args

from segmentation import cli
from segmentation.cli import load as load_job
from segmentation.errors import JobError


def parse(argv: list[str]) -> argparse.Namespace:
    return parse_job_args(load_job, argv)


def test_load_is_a_registered_job():
    assert cli.JOBS["load"][0] == "segmentation.cli.load"


def test_cli_loads_reports_and_skips_on_rerun(tmp_path, capsys):
    data = tmp_path / "day.csv"
    data.write_text(
        f"{UCI_HEADER}\n"
        "536365,85123A,HEART,6,01/12/2010 08:26,2.55,17850.0,United Kingdom\n"
        "536366,22633,WARMER,x,02/12/2010 08:28,1.85,17850.0,United Kingdom\n"
    )
    database = tmp_path / "w.duckdb"
    argv = [
        str(data),
        "--database",
        str(database),
        "--date-format",
        "%d/%m/%Y %H:%M",
        "--no-progress",
    ]
    assert load_job.run(parse(argv)) == 0
    out = capsys.readouterr().out
    assert "loaded 1 file(s): 2 rows read, 1 loaded, 1 rejected" in out
    assert "non-numeric quantity" in out and "raw.rejected_rows where load_id" in out

    assert load_job.run(parse(argv)) == 0
    assert "nothing new to load" in capsys.readouterr().out
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select count(*) from raw.transactions").fetchall() == [(1,)]


def test_cli_errors_become_job_errors_and_write_nothing(tmp_path):
    database = tmp_path / "w.duckdb"
    data = tmp_path / "orders.csv"
    data.write_text("client,ts,qty\nc1,2011-01-01,1\n")
    args = parse(
        [
            str(data),
            "--database",
            str(database),
            "--column",
            "customer_id=client",
            "--column",
            "invoiced_at=ts",
            "--column",
            "quantity=qty",
            "--column",
            "unit_price=cost",
        ]
    )
    with pytest.raises(JobError, match=r"unit_price -> 'cost'.*nothing was loaded"):
        load_job.run(args)
    with pytest.raises(JobError, match="expected FIELD=COLUMN"):
        load_job.run(parse([str(data), "--database", str(database), "--column", "quantity"]))
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'raw'"
        ).fetchall() == [(0,)]


def test_format_choices_are_enforced():
    with pytest.raises(SystemExit):
        parse(["x.csv", "--format", "xls"])
    assert parse(["x.csv", "--format", "uci2"]).format == "uci2"


def test_real_data_replaces_demo_data_only_when_asked(tmp_path, capsys):
    from segmentation.demo import DemoConfig, write_demo
    from segmentation.demo.sources import write_demo_sources

    database = tmp_path / "w.duckdb"
    with duckdb.connect(str(database)) as con:
        write_demo(con, DemoConfig(customers=20, months=2, seed=3))
        write_demo_sources(con, DemoConfig(customers=20, months=2, seed=3))
    data = tmp_path / "day.csv"
    data.write_text(
        f"{UCI_HEADER}\n536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
    )
    argv = [str(data), "--database", str(database), "--no-progress"]

    with pytest.raises(JobError, match="did not load"):
        load_job.run(parse(argv))

    assert load_job.run(parse([*argv, "--replace-demo"])) == 0
    assert "demo rows" in capsys.readouterr().out
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute(
            "select count(*), min(source_file) from raw.transactions"
        ).fetchall() == [(1, str(data))]
        assert con.execute("select count(*) from raw.customer_archetypes").fetchall() == [(0,)]
        # the demo's optional inputs describe demo customers: they go with the demo log
        assert con.execute(
            "select (select count(*) from raw.engagement_events) "
            "+ (select count(*) from raw.customer_attributes)"
        ).fetchall() == [(0,)]


def test_demo_refuses_to_overwrite_loaded_data(tmp_path):
    from segmentation.demo import DemoConfig, write_demo

    database = tmp_path / "w.duckdb"
    data = tmp_path / "day.csv"
    data.write_text(
        f"{UCI_HEADER}\n536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
    )
    assert load_job.run(parse([str(data), "--database", str(database), "--no-progress"])) == 0
    with duckdb.connect(str(database)) as con:
        with pytest.raises(ValueError, match="1 rows of loaded data"):
            write_demo(con, DemoConfig(customers=20, months=2, seed=3))
        assert con.execute("select count(*) from raw.transactions").fetchall() == [(1,)]

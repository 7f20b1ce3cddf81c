"""`segmentation summary`: what it prints after a build, and its error without a warehouse."""

from __future__ import annotations

import argparse

import duckdb
import pytest

from segmentation.cli import summary as summary_job
from segmentation.errors import JobError


def run_summary(database) -> int:
    parser = argparse.ArgumentParser()
    summary_job.add_arguments(parser)
    return summary_job.run(parser.parse_args(["--database", str(database)]))


def test_summary_lists_tables_segments_and_how_to_query(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SEGMENTS_SERVING_PATH", str(tmp_path / "serving.duckdb"))
    database = tmp_path / "w.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_customer_features as select 'a' as customer_id")
        con.execute(
            "create table marts.dim_segments as select 1 as segment_id, 'Champions' as"
            " segment_name, 1 as customer_count, 1.0 as customer_share, 1.0 as revenue_share"
        )
    assert run_summary(database) == 0
    out = capsys.readouterr().out
    assert "marts.fct_customer_features      1 rows" in out
    assert "marts.fct_customer_segments      missing" in out
    assert "Champions" in out
    assert f"duckdb.connect('{database.resolve()}', read_only=True)" in out


def test_summary_without_a_warehouse_is_a_clear_error(tmp_path):
    with pytest.raises(JobError, match="run `make run` first"):
        run_summary(tmp_path / "absent.duckdb")

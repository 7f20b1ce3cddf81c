"""`segmentation summary`: what it prints after a build, and its error without a warehouse."""

from __future__ import annotations

import duckdb
import pytest
from helpers import parse_job_args

from segmentation.cli import summary as summary_job
from segmentation.errors import JobError


def run_summary(database) -> int:
    return summary_job.run(parse_job_args(summary_job, ["--database", str(database)]))


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


def test_summary_says_each_segments_stability_rule_and_why_this_many(tmp_path, capsys):
    database = tmp_path / "w.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema marts")
        con.execute("create schema ml")
        con.execute(
            "create table marts.dim_segments as select 1 as segment_id, 'Champions' as"
            " segment_name, 1 as customer_count, 1.0 as customer_share, 1.0 as revenue_share,"
            " 'orders ≥ 6' as explanation_rule, 0.9 as explanation_precision,"
            " 0.8 as explanation_coverage"
        )
        con.execute(
            "create table ml.ml_segment_stability as select 1 as segment_id, 0.934 as mean_jaccard"
        )
        con.execute(
            "create table ml.ml_segment_model as select 'chosen kmeans__n_clusters=1' as"
            " selection_reason"
        )
    assert run_summary(database) == 0
    out = capsys.readouterr().out
    assert "stability" in out and "0.93" in out
    assert "1 Champions: orders ≥ 6 (90% / 80%)" in out
    assert "Why 1 segments: chosen kmeans__n_clusters=1" in out


def test_summary_without_a_warehouse_is_a_clear_error(tmp_path):
    with pytest.raises(JobError, match="run `make run` first"):
        run_summary(tmp_path / "absent.duckdb")

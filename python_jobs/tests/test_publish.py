"""Publishing the serving copy: build gate, table rule, atomic replacement, privacy."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from segmentation.cli import publish as publish_job
from segmentation.errors import JobError
from segmentation.publish import serving as publish

KEY = b"test-key-0123456789abcdef"
INVOCATION = "5b646ffb-a287-4632-b7eb-111ff8d7a5fd"


# --------------------------------------------------------------------------------------------
# Fixtures: a small warehouse and dbt artefacts
# --------------------------------------------------------------------------------------------


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """Marts, reporting, monitoring and non-BI schemas, with ids and a free-text column."""
    path = tmp_path / "segments.duckdb"
    con = duckdb.connect(str(path))
    for schema in ("raw", "staging", "marts", "reporting", "monitoring", "ml"):
        con.execute(f"create schema {schema}")
    con.execute(
        "create table raw.transactions as select cast(10000 + i as varchar) as customer_id,"
        " 'Mrs Smith, 1 High St' as description from range(50) t(i)"
    )
    con.execute(
        "create table marts.fct_customer_segments as select"
        " case when i = 7 then null else cast(12000 + i as varchar) end as customer_id,"
        " 1 + i % 3 as segment_id from range(40) t(i)"
    )
    con.execute(
        "create table marts.fct_customer_rfm as select cast(12000 + i as varchar) as customer_id,"
        " 'note about ' || i as description, i % 5 + 1 as r_score from range(40) t(i)"
    )
    con.execute("create table marts.dim_segments as select range + 1 as segment_id from range(3)")
    con.execute("comment on table marts.dim_segments is 'One row per segment.'")
    con.execute("comment on column marts.dim_segments.segment_id is 'Segment number.'")
    con.execute("create table reporting.rpt_monthly as select 1 as month_index, 2.5 as revenue")
    con.execute(
        "create table monitoring.segment_history as select"
        " cast(12000 + i as bigint) as customer_id, 1 as run_number from range(40) t(i)"
    )
    con.execute(
        "create view marts.segment_sizes as select segment_id, count(*) as customer_count"
        " from marts.fct_customer_segments group by segment_id"
    )
    con.execute("create table ml.ml_segment_model as select 1 as model_version")
    con.close()
    return path


def write_run_results(
    target: Path, statuses: list[str], which: str = "build", invocation: str = INVOCATION
) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    results = [
        {"unique_id": f"model.p.node_{i}", "status": status, "message": f"{status} message"}
        for i, status in enumerate(statuses)
    ]
    document = {
        "metadata": {"invocation_id": invocation, "generated_at": "2026-01-01T00:00:00Z"},
        "args": {"which": which},
        "results": results,
    }
    path = target / "run_results.json"
    path.write_text(json.dumps(document))
    return path


def write_log(log_dir: Path, invocations: list[tuple[str, str]]) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for invocation, command in invocations:
        lines += [
            "",
            "=" * 30 + f" 09:04:15.925113 | {invocation} " + "=" * 30,
            "\x1b[0m09:04:15.927 [info ] [MainThread]: Running with dbt=1.12.0",
            f"\x1b[0m09:04:15.927 [debug] [MainThread]: running dbt with arguments "
            f"{{'profiles_dir': '.', 'invocation_command': '{command}', 'quiet': 'False'}}",
        ]
    (log_dir / "dbt.log").write_text("\n".join(lines))


def file_state(path: Path) -> tuple[bytes, int, int]:
    stat = path.stat()
    return hashlib.sha256(path.read_bytes()).digest(), stat.st_ino, stat.st_mtime_ns


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    return [
        row[0]
        for row in con.execute(
            "select column_name from duckdb_columns() where schema_name = ? and table_name = ?"
            " order by column_index",
            [schema, name],
        ).fetchall()
    ]


# --------------------------------------------------------------------------------------------
# The build gate
# --------------------------------------------------------------------------------------------


def test_a_passing_build_is_accepted_and_warnings_are_fine(tmp_path: Path) -> None:
    path = write_run_results(tmp_path, ["success", "pass", "warn", "pass"])
    record = publish.check_build(path)
    assert record.invocation_id == INVOCATION
    assert record.status_counts == {"success": 1, "pass": 2, "warn": 1}


@pytest.mark.parametrize("bad", ["error", "fail", "skipped", "runtime error"])
def test_any_failed_or_skipped_node_refuses(tmp_path: Path, bad: str) -> None:
    path = write_run_results(tmp_path, ["success", bad, "pass"])
    with pytest.raises(publish.PublishRefused) as raised:
        publish.check_build(path)
    message = str(raised.value)
    assert "did not pass its quality gates" in message
    assert f"{bad}: model.p.node_1 ({bad} message)" in message


def test_missing_malformed_or_non_build_results_refuse(tmp_path: Path) -> None:
    with pytest.raises(publish.PublishRefused, match="run `dbt build` first"):
        publish.check_build(tmp_path / "run_results.json")
    path = write_run_results(tmp_path, ["success"], which="generate")
    with pytest.raises(publish.PublishRefused, match="records `dbt docs generate`"):
        publish.check_build(path)
    path.write_text("{not json")
    with pytest.raises(publish.PublishRefused, match="not a dbt run_results file"):
        publish.check_build(path)
    write_run_results(tmp_path, [])
    with pytest.raises(publish.PublishRefused, match="ran nothing"):
        publish.check_build(path)


def test_a_build_interrupted_after_the_recorded_one_refuses(tmp_path: Path) -> None:
    path = write_run_results(tmp_path / "target", ["success", "pass"])
    killed = "0b2a9c56-6a0e-4c1e-9f6e-3f1b2c3d4e5f"
    write_log(tmp_path / "logs", [(INVOCATION, "dbt build"), (killed, "dbt build --vars {}")])
    with pytest.raises(publish.PublishRefused, match="interrupted or is still running"):
        publish.check_build(path, tmp_path / "logs")
    # a later command that does not write the warehouse (ls, docs, compile) is no obstacle
    write_log(
        tmp_path / "logs",
        [(killed, "dbt run"), (INVOCATION, "dbt build"), (killed, "dbt ls --select x")],
    )
    assert publish.check_build(path, tmp_path / "logs").invocation_id == INVOCATION
    assert publish.last_writing_invocation(tmp_path / "logs" / "dbt.log") == (
        INVOCATION,
        "dbt build",
    )
    assert publish.last_writing_invocation(tmp_path / "absent.log") is None


# --------------------------------------------------------------------------------------------
# Which tables
# --------------------------------------------------------------------------------------------


def test_tables_are_chosen_by_schema_with_includes_and_exclusions(warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse), read_only=True)
    default = [
        t.qualified for t in publish.tables_to_publish(con, "segments", publish.PublishSpec())
    ]
    assert default == [
        "marts.dim_segments",
        "marts.fct_customer_rfm",
        "marts.fct_customer_segments",
        "marts.segment_sizes",  # views are published as tables
        "monitoring.segment_history",
        "reporting.rpt_monthly",
    ]
    spec = publish.PublishSpec(
        schemas=("marts",), include=("ml.ml_segment_model",), exclude=("marts.fct_*",)
    )
    chosen = [t.qualified for t in publish.tables_to_publish(con, "segments", spec)]
    assert chosen == ["marts.dim_segments", "marts.segment_sizes", "ml.ml_segment_model"]
    with pytest.raises(publish.PublishRefused, match="does not hold"):
        publish.tables_to_publish(con, "segments", publish.PublishSpec(include=("ml.nope",)))
    con.close()


# --------------------------------------------------------------------------------------------
# Publishing
# --------------------------------------------------------------------------------------------


def test_publish_copies_every_chosen_table_completely(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving" / "serving.duckdb"
    result = publish.publish(warehouse, serving)
    assert serving.exists()
    assert not list(serving.parent.glob(".*.tmp*"))  # no temporary file left behind
    src = duckdb.connect(str(warehouse), read_only=True)
    dst = duckdb.connect(str(serving), read_only=True)
    for table in result.tables:
        name = f"{table.schema}.{table.name}"
        kept = [c for c in columns(src, name) if c != "description"]
        source_rows = src.execute(f"select {', '.join(kept)} from {name} order by all").fetchall()
        published = dst.execute(f"select * from {name} order by all").fetchall()
        assert published == source_rows
        assert table.rows == len(source_rows)
    assert dst.execute(
        "select comment from duckdb_tables() where table_name = 'dim_segments'"
    ).fetchall() == [("One row per segment.",)]
    meta = dst.execute(
        "select table_schema || '.' || table_name, row_count from meta.published_tables"
    ).fetchall()
    assert sorted(meta) == sorted((f"{t.schema}.{t.name}", t.rows) for t in result.tables)
    assert ("raw",) not in dst.execute("select schema_name from duckdb_tables()").fetchall()
    src.close()
    dst.close()


def test_free_text_is_withheld_unless_configured(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    spec = publish.PublishSpec(include=("raw.transactions",))
    result = publish.publish(warehouse, serving, spec)
    con = duckdb.connect(str(serving), read_only=True)
    assert "description" not in columns(con, "raw.transactions")
    assert "description" not in columns(con, "marts.fct_customer_rfm")
    assert columns(con, "marts.fct_customer_rfm") == ["customer_id", "r_score"]
    withheld = {f"{t.schema}.{t.name}": t.withheld for t in result.tables}
    assert withheld["raw.transactions"] == ("description",)
    text = con.execute(
        "select count(*) from raw.transactions where cast(columns(*) as varchar) like '%Smith%'"
    ).fetchone()[0]
    assert text == 0
    con.close()

    allowed = publish.PublishSpec(withheld_columns=())
    publish.publish(warehouse, serving, allowed)
    con = duckdb.connect(str(serving), read_only=True)
    assert "description" in columns(con, "marts.fct_customer_rfm")
    con.close()


def test_pseudonyms_are_keyed_consistent_and_hide_every_id(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    result = publish.publish(warehouse, serving, key=KEY)
    assert result.pseudonymised
    src = duckdb.connect(str(warehouse), read_only=True)
    dst = duckdb.connect(str(serving), read_only=True)
    join = (
        "select count(*) from marts.fct_customer_segments s"
        " join marts.fct_customer_rfm r using (customer_id)"
        " join monitoring.segment_history h on h.customer_id = s.customer_id"
    )
    # joins give the same answer: the pseudonym is the same in every table, whatever the type
    assert (
        dst.execute(join).fetchone()[0]
        == src.execute(
            join.replace(
                "h.customer_id = s.customer_id", "cast(h.customer_id as varchar) = s.customer_id"
            )
        ).fetchone()[0]
    )
    assert dst.execute(join).fetchone()[0] == 39
    originals = {
        r[0] for r in src.execute("select customer_id from marts.fct_customer_rfm").fetchall()
    }
    published = {
        r[0] for r in dst.execute("select customer_id from marts.fct_customer_rfm").fetchall()
    }
    assert not originals & published
    assert published == {
        hmac.new(KEY, i.encode(), hashlib.sha256).hexdigest()[:32] for i in originals
    }
    # plain hashing of a short numeric id would be reversible by trying every id: not used
    assert hashlib.sha256(b"12000").hexdigest()[:32] not in published
    # NULL ids stay NULL
    assert (
        dst.execute(
            "select count(*) from marts.fct_customer_segments where customer_id is null"
        ).fetchone()[0]
        == 1
    )
    # no original id appears anywhere in the serving copy
    for table in result.tables:
        for column in columns(dst, f"{table.schema}.{table.name}"):
            values = dst.execute(
                f'select distinct cast("{column}" as varchar) from {table.schema}.{table.name}'
            ).fetchall()
            assert not originals & {v[0] for v in values}, f"{table.name}.{column}"
    comment = dst.execute(
        "select comment from duckdb_columns() where table_name = 'fct_customer_rfm'"
        " and column_name = 'customer_id'"
    ).fetchone()[0]
    assert "Pseudonymised" in comment
    src.close()
    dst.close()
    # another key gives other pseudonyms
    other = tmp_path / "other.duckdb"
    publish.publish(warehouse, other, key=b"another-key-0123456789")
    con = duckdb.connect(str(other), read_only=True)
    again = {r[0] for r in con.execute("select customer_id from marts.fct_customer_rfm").fetchall()}
    assert not again & published
    con.close()


def test_pseudonym_key_comes_from_the_environment() -> None:
    assert publish.pseudonym_key({}) is None
    assert publish.pseudonym_key({publish.PSEUDONYM_KEY_ENV: "k" * 20}) == b"k" * 20
    with pytest.raises(publish.PublishRefused, match="at least 16"):
        publish.pseudonym_key({publish.PSEUDONYM_KEY_ENV: "short"})
    assert publish.pseudonymise(None, KEY) is None
    assert publish.pseudonymise("12347", KEY) == publish.pseudonymise("12347", KEY)
    assert publish.pseudonymise("12347", KEY) != publish.pseudonymise("12348", KEY)


def test_a_failed_publication_leaves_the_serving_copy_byte_identical(
    warehouse: Path, tmp_path: Path
) -> None:
    serving = tmp_path / "serving.duckdb"
    publish.publish(warehouse, serving)
    before = file_state(serving)
    # fails after some tables were written: every column of the last table is withheld
    spec = publish.PublishSpec(withheld_columns=("month_index", "revenue", "description"))
    with pytest.raises(publish.PublishRefused, match="every column of reporting.rpt_monthly"):
        publish.publish(warehouse, serving, spec)
    assert file_state(serving) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["segments.duckdb", "serving.duckdb"]


def test_replacement_is_a_new_file_and_open_readers_keep_their_copy(
    warehouse: Path, tmp_path: Path
) -> None:
    serving = tmp_path / "serving.duckdb"
    publish.publish(warehouse, serving)
    first_inode = serving.stat().st_ino
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb\n"
            "con = duckdb.connect(sys.argv[1], read_only=True)\n"
            "q = 'select count(*) from marts.fct_customer_rfm'\n"
            "print(con.execute(q).fetchone()[0], flush=True)\n"
            "sys.stdin.readline()\n"
            "print(con.execute(q).fetchone()[0], flush=True)\n",
            str(serving),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout.readline().strip() == "40"
    con = duckdb.connect(str(warehouse))
    con.execute("insert into marts.fct_customer_rfm select '99999', 'x', 1")
    con.close()
    publish.publish(warehouse, serving)  # the reader holds the old copy open meanwhile
    assert serving.stat().st_ino != first_inode
    reader.stdin.write("\n")
    reader.stdin.flush()
    assert reader.stdout.readline().strip() == "40"  # the open connection keeps its copy
    reader.wait(timeout=30)
    fresh = duckdb.connect(str(serving), read_only=True)
    assert fresh.execute("select count(*) from marts.fct_customer_rfm").fetchone()[0] == 41
    fresh.close()


def test_stale_temporary_files_of_dead_runs_are_removed(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    stale = tmp_path / f".serving.duckdb.{dead}.tmp"
    stale.write_bytes(b"half a database")
    publish.publish(warehouse, serving)
    assert not stale.exists()


def test_a_source_locked_by_a_writer_is_refused_with_its_pid(
    warehouse: Path, tmp_path: Path
) -> None:
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb; con = duckdb.connect(sys.argv[1]); print('ready', flush=True);"
            " sys.stdin.read()",
            str(warehouse),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "ready"
        with pytest.raises(publish.PublishRefused) as raised:
            publish.publish(warehouse, tmp_path / "serving.duckdb")
        assert f"PID {writer.pid} (write lock)" in str(raised.value)
    finally:
        writer.stdin.close()
        writer.wait(timeout=30)
    assert not (tmp_path / "serving.duckdb").exists()


def test_parquet_export_switches_a_link_atomically(warehouse: Path, tmp_path: Path) -> None:
    serving = tmp_path / "serving.duckdb"
    link = tmp_path / "parquet"
    result = publish.publish(warehouse, serving, parquet_dir=link, key=KEY)
    assert link.is_symlink()
    con = duckdb.connect()
    for table in result.tables:
        path = link / table.schema / f"{table.name}.parquet"
        assert con.execute(f"select count(*) from '{path}'").fetchone()[0] == table.rows
    ids = con.execute(f"select customer_id from '{link}/marts/fct_customer_rfm.parquet'").fetchall()
    assert all(len(i[0]) == 32 for i in ids)  # pseudonymised in the files too
    first = os.readlink(link)
    for _ in range(2):
        publish.publish(warehouse, serving, parquet_dir=link)
    versions = sorted(p.name for p in tmp_path.glob(".parquet.v*"))
    assert len(versions) == 2 and first not in versions  # the oldest version was pruned
    assert os.readlink(link) == versions[-1]
    con.close()
    real = tmp_path / "real_folder"
    real.mkdir()
    with pytest.raises(publish.PublishRefused, match="did not create"):
        publish.publish(warehouse, serving, parquet_dir=real)


# --------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------


def job_args(warehouse: Path, tmp_path: Path, **overrides) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    publish_job.add_arguments(parser)
    args = parser.parse_args(
        [
            "--database",
            str(warehouse),
            "--serving",
            str(tmp_path / "serving.duckdb"),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ]
    )
    for name, value in overrides.items():
        setattr(args, name, value)
    return args


def test_job_publishes_after_a_passing_build_and_refuses_otherwise(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.delenv(publish.PSEUDONYM_KEY_ENV, raising=False)
    serving = tmp_path / "serving.duckdb"
    write_run_results(tmp_path / "target", ["success", "pass", "warn"])
    write_log(tmp_path / "logs", [(INVOCATION, "dbt build")])
    assert publish_job.run(job_args(warehouse, tmp_path)) == 0
    out = capsys.readouterr().out
    assert "Published 6 tables" in out and "customer ids: as in the warehouse" in out
    before = file_state(serving)

    write_run_results(tmp_path / "target", ["success", "fail", "skipped"])
    with pytest.raises(JobError) as raised:
        publish_job.run(job_args(warehouse, tmp_path))
    assert "did not pass its quality gates" in str(raised.value)
    assert f"Not published: {serving} was left as it was." in str(raised.value)
    assert file_state(serving) == before

    write_run_results(tmp_path / "target", ["success"])
    with pytest.raises(JobError, match=r"needs a key in \$SEGMENTS_PSEUDONYM_KEY"):
        publish_job.run(job_args(warehouse, tmp_path, pseudonymise=True))
    monkeypatch.setenv(publish.PSEUDONYM_KEY_ENV, KEY.decode())
    assert publish_job.run(job_args(warehouse, tmp_path)) == 0  # a key set: pseudonymised
    assert "customer ids: pseudonymised" in capsys.readouterr().out
    assert publish_job.run(job_args(warehouse, tmp_path, pseudonymise=False)) == 0
    assert "as in the warehouse" in capsys.readouterr().out
    args = job_args(warehouse, tmp_path, publish_column=["description"], schemas="marts")
    assert publish_job.run(args) == 0
    con = duckdb.connect(str(serving), read_only=True)
    assert "description" in columns(con, "marts.fct_customer_rfm")
    assert con.execute("select count(*) from meta.published_tables").fetchone()[0] == 4
    con.close()

"""Serving safety with the real `dbt build` on a small demo warehouse (marked dbt).

1. Readers that hold the serving copy open, or reconnect all the time, query it while a full
   build and publish run: every query succeeds and sees one complete publication.
2. A build killed with SIGKILL in the middle of the Python models leaves the serving copy as it
   was, publish refuses the half-built warehouse, and the next build succeeds without losing
   history rows.
3. A failing dbt test makes publish refuse and leaves the serving copy byte-identical.

The clustering is cut to k-means with k in 2..4 through --vars so that the builds stay short.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from segmentation.cli import publish as publish_job
from segmentation.errors import JobError
from segmentation.io import locks

pytestmark = pytest.mark.dbt

REPO = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")
FAST_VARS = "{segmentation: {algorithms: [kmeans], kmeans: {k_min: 2, k_max: 4, n_init: 2}}}"

# Queries the serving copy in a loop until the stop file appears, then prints a JSON report.
# mode "held": one connection for the whole run (a dashboard left open);
# mode "reconnect": a new connection for every round (a tool that connects per query).
READER = r"""
import json, sys, time, os, duckdb
path, mode, stop = sys.argv[1], sys.argv[2], sys.argv[3]
report = {"rounds": 0, "errors": [], "incomplete": [], "invocations": [], "last": None}

def round_(con):
    meta = con.execute(
        "select table_schema, table_name, row_count, dbt_invocation_id from meta.published_tables"
    ).fetchall()
    for schema, table, rows, _ in meta:
        actual = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
        if actual != rows:
            report["incomplete"].append(f"{schema}.{table}: {actual} rows, meta says {rows}")
    segments = con.execute("select count(*) from marts.fct_customer_segments").fetchone()[0]
    features = con.execute("select count(*) from marts.fct_customer_features").fetchone()[0]
    if segments != features or segments == 0:
        report["incomplete"].append(f"{segments} segment rows for {features} customers")
    invocation = meta[0][3]
    if invocation not in report["invocations"]:
        report["invocations"].append(invocation)
    report["last"] = invocation

held = duckdb.connect(path, read_only=True) if mode == "held" else None
deadline = time.monotonic() + 300
first = True
while not os.path.exists(stop) and time.monotonic() < deadline:
    try:
        con = held or duckdb.connect(path, read_only=True)
        round_(con)
        if con is not held:
            con.close()
    except Exception as error:
        report["errors"].append(repr(error))
    report["rounds"] += 1
    if first:
        print("ready", flush=True)
        first = False
    time.sleep(0.02)
print(json.dumps(report), flush=True)
"""


class Workspace:
    """A demo warehouse with its own dbt target and log folders and a serving copy."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.database = root / "segments.duckdb"
        self.serving = root / "serving.duckdb"
        self.target = root / "target"
        self.logs = root / "logs"
        self.env = {
            **os.environ,
            "DBT_PROFILES_DIR": str(REPO),
            "SEGMENTS_DUCKDB_PATH": str(self.database),
        }

    def build_command(self) -> list[str]:
        return [
            str(DBT),
            "build",
            "--target-path",
            str(self.target),
            "--log-path",
            str(self.logs),
            "--vars",
            FAST_VARS,
        ]

    def build(self) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.build_command(),
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def publish(self) -> tuple[int, str]:
        """`segmentation publish` for this workspace: (exit code, message when refused)."""
        parser = argparse.ArgumentParser()
        publish_job.add_arguments(parser)
        args = parser.parse_args(
            [
                "--database",
                str(self.database),
                "--serving",
                str(self.serving),
                "--target-path",
                str(self.target),
                "--log-path",
                str(self.logs),
                "--no-pseudonymise",
            ]
        )
        try:
            return publish_job.run(args), ""
        except JobError as error:
            return 2, str(error)

    def serving_state(self) -> tuple[bytes, int, int]:
        stat = self.serving.stat()
        return hashlib.sha256(self.serving.read_bytes()).digest(), stat.st_ino, stat.st_mtime_ns

    def run_results(self) -> dict:
        return json.loads((self.target / "run_results.json").read_text())


def published_invocation(path: Path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "select any_value(dbt_invocation_id) from meta.published_tables"
        ).fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    demo = pytest.importorskip("segmentation.demo")
    ws = Workspace(tmp_path_factory.mktemp("serving"))
    con = duckdb.connect(str(ws.database))
    demo.write_demo(con, demo.DemoConfig(customers=400, months=14))
    con.close()
    built = ws.build()
    assert built.returncode == 0, built.stdout[-3000:]
    code, message = ws.publish()
    assert code == 0, message
    return ws


def test_readers_see_complete_data_while_a_build_and_publish_run(workspace: Workspace) -> None:
    old = published_invocation(workspace.serving)
    stop = workspace.root / "stop-readers"
    script = workspace.root / "reader.py"
    script.write_text(READER)
    readers = {
        mode: subprocess.Popen(
            [sys.executable, str(script), str(workspace.serving), mode, str(stop)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for mode in ("held", "reconnect")
    }
    try:
        for reader in readers.values():
            assert reader.stdout.readline().strip() == "ready"
        built = workspace.build()
        assert built.returncode == 0, built.stdout[-3000:]
        code, message = workspace.publish()
        assert code == 0, message
        time.sleep(1.0)  # let the readers query the new copy for a while
    finally:
        stop.touch()
        reports = {mode: json.loads(r.communicate(timeout=60)[0]) for mode, r in readers.items()}
        stop.unlink()
    new = workspace.run_results()["metadata"]["invocation_id"]
    assert new != old
    for mode, report in reports.items():
        assert report["errors"] == [], mode
        assert report["incomplete"] == [], mode
        assert report["rounds"] > 20, mode
    # a connection opened before the rename keeps the copy it opened ...
    assert reports["held"]["invocations"] == [old]
    # ... while new connections see the new copy as soon as it is in place
    assert reports["reconnect"]["invocations"] == [old, new]
    assert reports["reconnect"]["last"] == new
    assert published_invocation(workspace.serving) == new


def _wait_for_log(log: Path, offset: int, needle: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if log.exists():
            with log.open(errors="replace") as handle:
                handle.seek(offset)
                if needle in handle.read():
                    return
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} never appeared in {log} (dbt exit code {process.poll()})")


def _history_relations(workspace: Workspace) -> list[str]:
    """Incremental models and snapshots: the tables whose rows must survive every build."""
    manifest = json.loads((workspace.target / "manifest.json").read_text())
    return sorted(
        f'"{node["schema"]}"."{node["alias"]}"'
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "snapshot")
        and node["config"].get("materialized") in ("incremental", "snapshot")
    )


def test_a_killed_build_leaves_the_serving_copy_and_the_next_build_loses_nothing(
    workspace: Workspace,
) -> None:
    served = workspace.serving_state()
    served_invocation = published_invocation(workspace.serving)
    before = workspace.root / "before-kill.duckdb"
    shutil.copyfile(workspace.database, before)
    history = _history_relations(workspace)
    # the model registry and the assignment history are among them, with rows to lose
    for relation in ('"ml"."ml_registry_runs"', '"monitoring"."mon_assignment_history"'):
        assert relation in history, history
        con = duckdb.connect(str(before), read_only=True)
        assert con.execute(f"select count(*) from {relation}").fetchone()[0] > 0, relation
        con.close()

    log = workspace.logs / "dbt.log"
    offset = log.stat().st_size
    output = (workspace.root / "killed-build.txt").open("w")
    process = subprocess.Popen(
        workspace.build_command(), cwd=REPO, env=workspace.env, stdout=output, stderr=output
    )
    try:
        _wait_for_log(log, offset, "START python", process)
        time.sleep(0.3)  # inside the Python model
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
        output.close()

    assert workspace.serving_state() == served
    code, message = workspace.publish()  # the old run_results say "success": must not be trusted
    assert code != 0
    assert "interrupted or is still running" in message
    assert workspace.serving_state() == served
    assert published_invocation(workspace.serving) == served_invocation
    locks.ensure_unlocked(workspace.database)  # the dead process holds no lock

    rebuilt = workspace.build()
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:]
    code, message = workspace.publish()
    assert code == 0, message
    assert (
        published_invocation(workspace.serving)
        == workspace.run_results()["metadata"]["invocation_id"]
    )
    con = duckdb.connect(str(workspace.database), read_only=True)
    con.execute(f"attach '{before}' as before (read_only)")
    relations = (
        "select schema_name || '.' || table_name from duckdb_tables() where database_name = ?"
    )
    now = {row[0] for row in con.execute(relations, ["segments"]).fetchall()}
    assert {row[0] for row in con.execute(relations, ["before"]).fetchall()} <= now
    assert not [name for name in now if "__dbt_tmp" in name or "__dbt_backup" in name]
    # Rows of incremental models and snapshots (history, model registry) all survive.
    for relation in history:
        lost = con.execute(
            f"select count(*) from (select * from before.{relation} except all "
            f"select * from {relation})"
        ).fetchone()[0]
        assert lost == 0, f"{relation} lost {lost} rows"
    con.close()


def test_a_failing_quality_gate_leaves_the_serving_copy_byte_identical(
    workspace: Workspace,
) -> None:
    served = workspace.serving_state()
    con = duckdb.connect(str(workspace.database))
    # A second copy of one line: the log's primary-key test (unique source_file and
    # source_row, on the source) fails, and dbt build skips everything downstream of it.
    con.execute("insert into raw.transactions select * from raw.transactions limit 1")
    con.close()
    try:
        failed = workspace.build()
        assert failed.returncode != 0
        statuses = {r["status"] for r in workspace.run_results()["results"]}
        assert "fail" in statuses
        code, message = workspace.publish()
        assert code != 0
        assert "did not pass its quality gates" in message
        assert "source_unique_combination_of_columns_shop_transactions" in message
        assert "was left as it was" in message
        assert workspace.serving_state() == served
    finally:
        con = duckdb.connect(str(workspace.database))
        con.execute(
            "delete from raw.transactions where rowid = (select max(rowid) from raw.transactions)"
        )
        con.close()

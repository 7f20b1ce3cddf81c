"""Lock detection: which process holds a DuckDB file, found before a build runs into it."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from segmentation.cli import checks
from segmentation.errors import JobError
from segmentation.io import locks

HOLDER_SCRIPT = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read")
con.execute("select 1").fetchall()
print("ready", flush=True)
sys.stdin.read()
"""


@contextmanager
def holding(path: Path, mode: str) -> Iterator[subprocess.Popen]:
    """Another process that keeps ``path`` open (``read`` or ``write``) until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER_SCRIPT, str(path), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "ready"
        yield process
    finally:
        process.stdin.close()
        process.wait(timeout=30)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "segments.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table t as select 1 as x")
    con.close()
    return path


@pytest.mark.parametrize("mode", ["read", "write"])
def test_holder_is_found_with_pid_lock_kind_and_command(database: Path, mode: str) -> None:
    with holding(database, mode) as process:
        holders = locks.lock_holders(database)
        assert [h.pid for h in holders] == [process.pid]
        assert holders[0].lock == mode
        assert "duckdb.connect" in holders[0].command
        with pytest.raises(locks.DatabaseLockedError) as raised:
            locks.ensure_unlocked(database)
        message = str(raised.value)
        assert str(database) in message
        assert f"PID {process.pid} ({mode} lock)" in message
        assert f"kill {process.pid}" in message
    assert locks.lock_holders(database) == ()
    locks.ensure_unlocked(database)  # free again: no error


def test_duckdb_fallback_reads_the_holder_from_the_lock_error(database: Path) -> None:
    """Where /proc/locks does not exist, DuckDB's own lock error names the PID."""
    with holding(database, "read") as process:
        holders = locks._holders_from_duckdb(database)
        assert [h.pid for h in holders] == [process.pid]
        assert "python" in holders[0].command
    assert locks._holders_from_duckdb(database) == ()


def test_fd_scan_lists_processes_that_have_the_file_open(database: Path) -> None:
    with holding(database, "read") as process:
        assert process.pid in locks.processes_with_file_open(database)
    assert locks.processes_with_file_open(database) == ()


def test_proc_locks_parsing_matches_the_inode_and_skips_waiters(database: Path) -> None:
    stat = database.stat()
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}"
    me = os.getpid()
    text = "\n".join(
        [
            f"1: POSIX  ADVISORY  READ 101 {device}:{stat.st_ino} 0 EOF",
            f"1: -> POSIX  ADVISORY  WRITE 102 {device}:{stat.st_ino} 0 EOF",  # waiting
            f"2: POSIX  ADVISORY  WRITE 103 {device}:{stat.st_ino + 1} 0 EOF",  # other file
            f"3: POSIX  ADVISORY  READ {me} {device}:{stat.st_ino} 0 EOF",  # this process
            f"4: POSIX  ADVISORY  WRITE 0 {device}:{stat.st_ino} 0 EOF",  # other namespace
            "5: garbage",
        ]
    )
    holders = locks._holders_from_proc(database, text)
    assert [(h.pid, h.lock) for h in holders] == [(None, "write"), (101, "read")]
    assert "outside this system's view" in holders[0].describe()


def test_missing_file_has_no_holders(tmp_path: Path) -> None:
    assert locks.lock_holders(tmp_path / "absent.duckdb") == ()


def test_check_lock_job_exit_codes(database: Path, capsys: pytest.CaptureFixture) -> None:
    args = argparse.Namespace(database=database)
    assert checks.run_lock(args) == 0
    assert "no other process holds it" in capsys.readouterr().out
    with holding(database, "read") as process, pytest.raises(JobError) as raised:
        checks.run_lock(args)
    assert f"PID {process.pid}" in str(raised.value)
    assert "dbt build cannot write to it" in str(raised.value)
    missing = argparse.Namespace(database=database.parent / "none.duckdb")
    assert checks.run_lock(missing) == 0

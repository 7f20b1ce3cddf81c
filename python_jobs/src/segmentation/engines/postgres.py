"""A throwaway PostgreSQL cluster, and moving tables in and out of it.

:func:`throwaway_postgres` creates a cluster with the machine's ``initdb`` (Debian's
``postgresql`` package) in a temporary folder, starts it on 127.0.0.1 only (its Unix socket in
that folder), creates the database, and always stops it and removes the folder afterwards,
also when the work inside fails. The cluster trusts local connections: it exists for minutes,
for one run, and listens on the loopback address alone.

As root (CI), the server runs as the ``postgres`` user, since PostgreSQL refuses to run as
root.
"""

from __future__ import annotations

import contextlib
import io
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from segmentation.engines.compare import Rows
from segmentation.engines.transfer import TableCopy, create_table_sql

HOST = "127.0.0.1"
SUPERUSER = "postgres"
DATABASE = "segments"
INSTALL_HINT = "install the PostgreSQL server: apt-get install -y postgresql"
START_TIMEOUT_SECONDS = 60


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server programs are not on this machine."""


@dataclass(frozen=True)
class PostgresServer:
    """A running cluster: how to reach it."""

    host: str
    port: int
    user: str
    database: str
    folder: Path  # the cluster's temporary folder (data, socket), removed when it stops

    def dbt_env(self) -> dict[str, str]:
        """The environment variables the ``postgres`` target of profiles.yml reads."""
        return {
            "SEGMENTS_PG_HOST": self.host,
            "SEGMENTS_PG_PORT": str(self.port),
            "SEGMENTS_PG_USER": self.user,
            "SEGMENTS_PG_PASSWORD": "",
            "SEGMENTS_PG_DATABASE": self.database,
        }

    def connect(self, database: str | None = None) -> Any:
        import psycopg2  # optional: installed with the engine adapters

        return psycopg2.connect(
            host=self.host, port=self.port, user=self.user, dbname=database or self.database
        )


def server_bin_dir() -> Path:
    """The folder of ``initdb``, ``pg_ctl`` and ``postgres``: the newest version under Debian's
    /usr/lib/postgresql, else the one on PATH."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: _version_key(path.parent.parent.name),
    )
    if candidates:
        return candidates[-1].parent
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    raise PostgresUnavailable(
        f"PostgreSQL server programs (initdb, pg_ctl) not found: {INSTALL_HINT}"
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on now at ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def throwaway_postgres(log: Path | None = None) -> Iterator[PostgresServer]:
    """Start a fresh cluster in a temporary folder; stop it and remove the folder on exit.

    The folder is made in the system's temporary folder, which the ``postgres`` user can
    reach. ``log`` receives the server's own log (kept after the folder is removed).
    """
    bin_dir = server_bin_dir()
    run_as = _server_user()
    folder = Path(tempfile.mkdtemp(prefix="segments-pg-"))
    data = folder / "data"
    server_log = folder / "server.log"
    port = free_port()
    try:
        if run_as is not None:
            os.chown(folder, run_as.pw_uid, run_as.pw_gid)
        _run_server_tool(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ],
            run_as,
        )
        options = " ".join(
            [
                f"-c listen_addresses={HOST}",
                f"-p {port}",
                f"-k {folder}",
                # a cluster that lives for one run needs no crash safety
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        _run_server_tool(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(server_log),
                "-o",
                options,
                "-w",
                "-t",
                str(START_TIMEOUT_SECONDS),
                "start",
            ],
            run_as,
        )
        try:
            server = PostgresServer(HOST, port, SUPERUSER, DATABASE, folder)
            _create_database(server)
            yield server
        finally:
            _stop(bin_dir, data, run_as)
    finally:
        if log is not None and server_log.exists():
            log.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(server_log, log)
        shutil.rmtree(folder, ignore_errors=True)


def _server_user() -> pwd.struct_passwd | None:
    """The ``postgres`` account when running as root (the server refuses root), else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            f"running as root but there is no 'postgres' user to run the server: {INSTALL_HINT}"
        ) from None


def _run_server_tool(command: Sequence[str], run_as: pwd.struct_passwd | None) -> None:
    done = subprocess.run(
        command,
        user=run_as.pw_uid if run_as else None,
        group=run_as.pw_gid if run_as else None,
        extra_groups=[] if run_as else None,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_SECONDS * 2,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{Path(command[0]).name} failed ({done.returncode}): "
            f"{(done.stdout + done.stderr).strip()[-2000:]}"
        )


def _create_database(server: PostgresServer) -> None:
    con = server.connect(database="postgres")
    try:
        con.autocommit = True
        with con.cursor() as cursor:
            cursor.execute(f"create database {server.database}")
    finally:
        con.close()


def _stop(bin_dir: Path, data: Path, run_as: pwd.struct_passwd | None) -> None:
    """Stop the server (fast shutdown); kill it when that does not work."""
    with contextlib.suppress(Exception):
        _run_server_tool(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], run_as
        )
    pid_file = data / "postmaster.pid"
    if not pid_file.exists():
        return
    with contextlib.suppress(Exception):
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)


def load_tables(server: PostgresServer, tables: Sequence[TableCopy]) -> None:
    """Create (or, for appends, extend) each table and copy its rows in, in one transaction."""
    con = server.connect()
    try:
        with con, con.cursor() as cursor:
            for schema in sorted({table.schema for table in tables}):
                cursor.execute(f"create schema if not exists {schema}")
            for table in tables:
                if not table.append:
                    cursor.execute(f"drop table if exists {table.qualified_name} cascade")
                    cursor.execute(create_table_sql(table, "postgres"))
                names = ", ".join(name for name, _ in table.columns)
                cursor.copy_expert(
                    f"copy {table.qualified_name} ({names}) from stdin"
                    " with (format csv, header true)",
                    _csv_of(table),
                )
    finally:
        con.close()


def _csv_of(table: TableCopy) -> io.BytesIO:
    """The Parquet file's rows as CSV (empty text quoted, NULL unquoted and empty)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.csv"
        source = str(table.path).replace("'", "''")
        duckdb.execute(
            f"copy (select * from read_parquet('{source}')) to '{path}' (format csv, header true)"
        )
        return io.BytesIO(path.read_bytes())


def read_rows(server: PostgresServer, qualified_name: str) -> Rows:
    """Every row of a table, as the client returns them."""
    con = server.connect()
    try:
        with con.cursor() as cursor:
            cursor.execute(f"select * from {qualified_name}")
            return Rows.from_cursor(cursor.description, cursor.fetchall())
    finally:
        con.close()

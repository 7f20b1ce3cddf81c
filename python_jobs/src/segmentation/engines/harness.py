"""The engine comparison, step by step (``make test-engines``).

1. DuckDB, the reference: the demo log is generated and built (``dbt build``, the Python
   models run by dbt); one more day is appended (the log's last day again, a day later, with
   new invoice ids) and built again. After each build the raw log, the feature mart and every
   customer's segment are kept.
2. Each engine, in turn: PostgreSQL in a throwaway cluster, Spark in a local warehouse folder.
   dbt cannot run Python models there, so each round runs the two commands a user runs:
   ``segmentation fit-model --target <engine> --build-inputs`` (dbt builds the features and
   runs their tests, in round 1 their unit tests too; then the project's Python models fit on
   the sample and write their tables through the engine's client), then ``dbt build`` of the
   rest (the kept model scores every customer in SQL; marts, monitoring, every other data
   test; the two builds run each node once). Round 1 loads the raw log; round 2 appends the
   new day's lines (incremental models take their incremental path where the engine has one;
   the registry keeps its first run and adds the second). After each round
   ``fct_customer_features`` is compared with DuckDB's value by value, and every customer's
   segment (``ml_customer_assignments``) with the one DuckDB gave.

Every server or Spark process listens on 127.0.0.1 only and is stopped at the end, also on
failure or interruption.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from segmentation.engines import postgres, spark, transfer
from segmentation.engines.compare import Comparison, Rows, compare
from segmentation.warehouse_fit.plan import build_rest_args, plan_from_manifest, read_manifest

ENGINES = ("postgres", "spark")
FEATURE_MART = "marts.fct_customer_features"
FEATURE_KEY = "customer_id"
ASSIGNMENTS = "ml.ml_customer_assignments"
SEGMENT_COLUMNS = ("customer_id", "segment_id")
# The appended day's lines: the log's last day again, a day later, under new invoice ids.
NEXT_DAY_SOURCE = "engines://next-day"
NEXT_DAY_SUFFIX = "-D2"
RAW_SCHEMA = "raw"
COMMAND_TIMEOUT_SECONDS = 1200
TAIL_LINES = 40


class HarnessError(RuntimeError):
    """A step failed; the message says which and where its log is."""


@dataclass
class Settings:
    """What the run builds and where it works."""

    project: Path
    workdir: Path
    engines: tuple[str, ...] = ENGINES
    customers: int = 400
    months: int = 25
    seed: int = 42
    keep: bool = False


@dataclass
class Step:
    """One timed step of the run."""

    name: str
    seconds: float
    ok: bool
    detail: str = ""


@dataclass
class Report:
    """Steps, comparisons and the verdict of a run."""

    steps: list[Step] = field(default_factory=list)
    comparisons: dict[str, list[tuple[int, Comparison]]] = field(default_factory=dict)  # round
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and all(c.ok for cs in self.comparisons.values() for _, c in cs)


@dataclass(frozen=True)
class Round:
    """What DuckDB's build of one round left for the engines."""

    number: int
    tables: list[transfer.TableCopy]  # raw log (round 1: whole, round 2: the new lines)
    features: Rows
    segments: Rows  # customer_id, segment_id


def missing_requirements(engines: Sequence[str]) -> dict[str, list[str]]:
    """What each engine lacks on this machine, with how to install it."""
    missing: dict[str, list[str]] = {}
    for engine in engines:
        problems: list[str] = []
        if engine == "postgres":
            problems += _missing_modules(
                {"dbt.adapters.postgres": "dbt-postgres", "psycopg2": "psycopg2-binary"}
            )
            try:
                postgres.server_bin_dir()
            except postgres.PostgresUnavailable as error:
                problems.append(str(error))
        elif engine == "spark":
            problems += spark.missing_requirements()
            if problems:
                problems.append(spark.INSTALL_HINT)
        else:
            problems.append(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")
        if problems:
            missing[engine] = problems
    return missing


def _missing_modules(modules: dict[str, str]) -> list[str]:
    import importlib.util

    problems = []
    for module, package in modules.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            problems.append(f"the Python package {package} is not installed (make env-engines)")
    return problems


class Harness:
    """Runs the steps of :mod:`segmentation.engines.harness` and records them."""

    def __init__(self, settings: Settings, echo: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.echo = echo
        self.report = Report()
        self.started = time.perf_counter()
        self.processes = Processes()

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> Report:
        """DuckDB's first round, then every engine side by side while DuckDB builds its second
        round (an engine waits for it only once its own first round is done)."""
        work = self.settings.workdir
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        try:
            self.run_all()
        finally:
            if not self.settings.keep and self.report.ok:
                shutil.rmtree(work, ignore_errors=True)
        return self.report

    def run_all(self) -> None:
        try:
            first = self.reference_round(1)
        except HarnessError as error:
            self.fail("duckdb", error)
            return
        second: Future[Round] = Future()
        pool = ThreadPoolExecutor(max_workers=len(self.settings.engines))
        try:
            engines = [
                pool.submit(self.run_engine_reporting, engine, first, second)
                for engine in self.settings.engines
            ]
            try:
                second.set_result(self.reference_round(2))
            except HarnessError as error:
                self.fail("duckdb", error)
                second.set_exception(error)
            wait(engines)
        except BaseException:
            # interrupted: end every running command, so each engine unwinds (servers stop)
            self.processes.stop_all()
            if not second.done():
                second.set_exception(HarnessError("interrupted"))
            raise
        finally:
            pool.shutdown(wait=True)

    def fail(self, engine: str, error: Exception) -> None:
        self.report.failures.append(f"{engine}: {error}")
        self.echo(f"FAILED {engine}: {error}")

    def run_engine_reporting(self, engine: str, first: Round, second: Future[Round]) -> None:
        try:
            self.run_engine(engine, first, second)
        except HarnessError as error:
            self.fail(engine, error)

    def reference_round(self, number: int) -> Round:
        """DuckDB's build of round ``number`` (round 1 makes the demo log, round 2 appends
        the next day), and what the engines take from it."""
        folder = self.settings.workdir / "duckdb"
        database = folder / "warehouse.duckdb"
        env = {"SEGMENTS_DUCKDB_PATH": str(database)}
        if number == 1:
            self.command(
                "duckdb: demo log",
                [
                    str(Path(sys.executable).with_name("segmentation")),
                    "demo",
                    "--customers",
                    str(self.settings.customers),
                    "--months",
                    str(self.settings.months),
                    "--seed",
                    str(self.settings.seed),
                    "--database",
                    str(database),
                ],
                env,
                folder / "demo.log",
            )
        else:
            with self.step("duckdb: append the next day"):
                added = append_next_day(database)
            self.echo(f"    {added} lines appended")
        self.dbt("duckdb", number, ["build", "--exclude-resource-type", "unit_test"], env, folder)
        with self.step(f"duckdb round {number}: export tables"):
            return self.export_round(number, database, folder)

    def export_round(self, number: int, database: Path, folder: Path) -> Round:
        out = folder / f"round{number}"
        con = duckdb.connect(str(database), read_only=True)
        try:
            if number == 1:
                raw = [
                    transfer.export_table(con, schema, name, out)
                    for schema, name in transfer.schema_tables_of(con, RAW_SCHEMA)
                ]
            else:
                raw = [
                    transfer.export_table(
                        con,
                        RAW_SCHEMA,
                        "transactions",
                        out,
                        where=f"source_file = '{NEXT_DAY_SOURCE}'",
                        append=True,
                    )
                ]
            features = read_rows(con, f"select * from {FEATURE_MART}")
            segments = read_rows(con, f"select {', '.join(SEGMENT_COLUMNS)} from {ASSIGNMENTS}")
        finally:
            con.close()
        return Round(number, raw, features, segments)

    def run_engine(self, engine: str, first: Round, second: Future[Round]) -> None:
        folder = self.settings.workdir / engine
        folder.mkdir(parents=True, exist_ok=True)
        with self.open_engine(engine, folder) as target:
            previous: Round | None = None
            for waiting in (first, second, None):
                item = waiting.result() if isinstance(waiting, Future) else waiting
                # one trip to the engine: the previous build's features out, this round's in
                label = " and ".join(
                    ([f"read round {previous.number}'s features and segments"] if previous else [])
                    + ([f"load round {item.number}'s raw lines"] if item else [])
                )
                with self.step(f"{engine}: {label}"):
                    tables = target.move(
                        item.tables if item else [],
                        [FEATURE_MART, ASSIGNMENTS] if previous else [],
                        folder / f"move{item.number if item else 'last'}",
                    )
                if previous is not None:
                    self.compare_round(engine, previous, tables)
                if item is not None:
                    self.fit_model(engine, item.number, target.env, folder)
                    args = build_args(item.number, self.fit_inputs())
                    self.dbt(engine, item.number, args, target.env, folder)
                previous = item

    def fit_model(self, engine: str, number: int, env: dict[str, str], folder: Path) -> None:
        """``segmentation fit-model``: the features built by dbt, the model fitted beside it."""
        command = [
            str(Path(sys.executable).with_name("segmentation")),
            "fit-model",
            "--target",
            engine,
            "--build-inputs",
            *(["--unit-tests"] if number == 1 else []),
            "--project-dir",
            str(self.settings.project),
        ]
        self.command(
            f"{engine} round {number}: segmentation fit-model",
            command,
            {
                **env,
                "DBT_TARGET_PATH": str(folder / "target"),
                "DBT_LOG_PATH": str(folder / "logs"),
            },
            folder / f"fit-model-{number}.log",
        )

    def fit_inputs(self) -> tuple[str, ...]:
        """What the fit reads that dbt builds before it (DuckDB's manifest: the same project)."""
        manifest = self.settings.workdir / "duckdb" / "target" / "manifest.json"
        return plan_from_manifest(read_manifest(manifest)).upstream_inputs

    def compare_round(self, engine: str, item: Round, tables: dict[str, Rows]) -> None:
        features = compare(FEATURE_MART, item.features, tables[FEATURE_MART], FEATURE_KEY)
        segments = segment_agreement(item.segments, tables[ASSIGNMENTS])
        for comparison in (features, segments):
            self.report.comparisons.setdefault(engine, []).append((item.number, comparison))
            self.echo(f"    {engine} round {item.number}: {comparison.summary()}")
        self.echo(f"    {engine} round {item.number}: {agreement_line(segments)}")

    @contextlib.contextmanager
    def open_engine(self, engine: str, folder: Path) -> Iterator[EngineTarget]:
        if engine == "postgres":
            with contextlib.ExitStack() as stack:
                # runs last, once the cluster is stopped and its folder removed
                stack.callback(self.echo, "    postgres: cluster stopped")
                with self.step("postgres: start a throwaway cluster"):
                    server = stack.enter_context(
                        postgres.throwaway_postgres(log=folder / "postgres-server.log")
                    )
                self.echo(f"    listening on {server.host}:{server.port}")
                yield PostgresTarget(server)
        else:
            warehouse = folder / "warehouse"
            warehouse.mkdir(parents=True, exist_ok=True)
            yield SparkTarget(warehouse, self)

    # -- running and timing ----------------------------------------------------------------

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        except Exception as error:
            self.record(name, started, ok=False, detail=str(error))
            if isinstance(error, HarnessError):
                raise
            raise HarnessError(f"{name}: {error}") from error
        self.record(name, started, ok=True)

    def record(self, name: str, started: float, ok: bool, detail: str = "") -> None:
        seconds = time.perf_counter() - started
        self.report.steps.append(Step(name, seconds, ok, detail))
        total = time.perf_counter() - self.started
        self.echo(f"[{total:7.1f} s] {name}: {'ok' if ok else 'FAILED'} ({seconds:.1f} s)")

    def dbt(
        self, target: str, number: int, args: list[str], env: dict[str, str], folder: Path
    ) -> None:
        command = [
            str(Path(sys.executable).with_name("dbt")),
            *args,
            "--target",
            target,
            "--project-dir",
            str(self.settings.project),
            "--target-path",
            str(folder / "target"),
            "--log-path",
            str(folder / "logs"),
        ]
        self.command(
            f"{target} round {number}: dbt {args[0]}",
            command,
            env,
            folder / f"dbt-{args[0]}-{number}.log",
        )

    def command(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        with self.step(name):
            self.processes.run(
                command,
                {**os.environ, "DBT_PROFILES_DIR": str(self.settings.project), **env},
                log,
                self.settings.project,
            )


class EngineTarget:
    """An engine as the harness uses it: its dbt environment and a table mover."""

    env: dict[str, str]

    def move(
        self, load: Sequence[transfer.TableCopy], read: Sequence[str], scratch: Path
    ) -> dict[str, Rows]:
        """Read the tables ``read``, then load the tables ``load``."""
        raise NotImplementedError


class PostgresTarget(EngineTarget):
    def __init__(self, server: postgres.PostgresServer) -> None:
        self.server = server
        self.env = server.dbt_env()

    def move(
        self, load: Sequence[transfer.TableCopy], read: Sequence[str], scratch: Path
    ) -> dict[str, Rows]:
        tables = {name: postgres.read_rows(self.server, name) for name in read}
        if load:
            postgres.load_tables(self.server, load)
        return tables


class SparkTarget(EngineTarget):
    def __init__(self, warehouse: Path, harness: Harness) -> None:
        self.warehouse = warehouse
        self.harness = harness
        self.env = spark.process_env(warehouse)

    def move(
        self, load: Sequence[transfer.TableCopy], read: Sequence[str], scratch: Path
    ) -> dict[str, Rows]:
        """One Spark process (the metastore admits one at a time) for both directions."""
        scratch.mkdir(parents=True, exist_ok=True)
        manifest = None
        if load:
            manifest = scratch / "tables.json"
            transfer.write_manifest(load, manifest)
        dumps = [(name, scratch / name) for name in read]
        self.harness.processes.run(
            spark.mover_command(self.warehouse, manifest, dumps),
            {**os.environ, **self.env},
            scratch / "spark-io.log",
            self.harness.settings.project,
        )
        tables = {}
        with duckdb.connect() as con:
            for name, path in dumps:
                cursor = con.execute(f"select * from read_parquet('{path}/*.parquet')")
                tables[name] = Rows.from_cursor(cursor.description, cursor.fetchall())
        return tables


class Processes:
    """The commands running now (one per engine at most), so that an interruption can end
    them all and every engine unwinds, stopping its server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self._stopping = False

    def run(
        self,
        command: Sequence[str],
        env: dict[str, str],
        log: Path,
        cwd: Path,
        timeout: float = COMMAND_TIMEOUT_SECONDS,
    ) -> None:
        """Run ``command`` in its own process group with its output in ``log``; on failure,
        timeout or interruption the whole group is ended and a HarnessError names the log."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("w") as out:
            with self._lock:
                if self._stopping:
                    raise HarnessError("interrupted")
                process = subprocess.Popen(
                    command,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=cwd,
                    start_new_session=True,
                )
                self._running.add(process)
            try:
                code = process.wait(timeout=timeout)
            except BaseException:
                _end_group(process)
                raise
            finally:
                with self._lock:
                    self._running.discard(process)
        if self._stopping:
            raise HarnessError("interrupted")
        if code != 0:
            raise HarnessError(f"exit code {code}; log {log}:\n{tail(log)}")

    def stop_all(self) -> None:
        """End every running command and refuse new ones."""
        with self._lock:
            self._stopping = True
            running = list(self._running)
        for process in running:
            _end_group(process)


def _end_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def tail(log: Path, lines: int = TAIL_LINES) -> str:
    """The last lines of a log, leaving out Spark's JSON log records."""
    kept = [
        line for line in log.read_text(errors="replace").splitlines() if not line.startswith("{")
    ]
    return "\n".join(kept[-lines:])


def build_args(number: int, inputs: Sequence[str]) -> list[str]:
    """``dbt build`` on an engine that cannot run Python models, after the fit: everything the
    fit's ``--build-inputs`` did not build (the Python models' nodes only check the fit's
    tables, materialization ``fit_model_table``) and every data test it did not run."""
    args = build_rest_args(inputs)
    if number > 1:
        # unit tests check the SQL on fixed rows, not the data: once per engine is enough
        args += ["--exclude-resource-type", "unit_test"]
    return args


def read_rows(con: duckdb.DuckDBPyConnection, query: str) -> Rows:
    cursor = con.execute(query)
    return Rows.from_cursor(cursor.description, cursor.fetchall())


def segment_agreement(reference: Rows, other: Rows) -> Comparison:
    """Every customer's segment on the engine against DuckDB's (exact: ids are integers),
    over the columns of ``reference`` (customer_id, segment_id)."""
    positions = [other.columns.index(column) for column in reference.columns]
    segments = Rows(
        reference.columns, tuple(tuple(row[i] for i in positions) for row in other.rows)
    )
    return compare(ASSIGNMENTS, reference, segments, FEATURE_KEY, tolerance=0.0)


def agreement_line(segments: Comparison) -> str:
    """How many customers got DuckDB's segment on the engine, out of DuckDB's customers."""
    differing = segments.value_differences.get("segment_id", 0) + len(segments.missing_keys)
    same = segments.reference_rows - differing
    return f"{same} of {segments.reference_rows} customers in the same segment as on DuckDB"


def append_next_day(database: Path) -> int:
    """Append the log's last day again, one day later and under new invoice ids; the number
    of lines added."""
    con = duckdb.connect(str(database))
    try:
        columns = [
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns where table_schema = ?"
                " and table_name = 'transactions' order by ordinal_position",
                [RAW_SCHEMA],
            ).fetchall()
        ]
        moved = {
            "invoice_id": f"invoice_id || '{NEXT_DAY_SUFFIX}'",
            "invoiced_at": "invoiced_at + interval 1 day",
            "source_file": f"'{NEXT_DAY_SOURCE}'",
            "source_row": "row_number() over (order by source_file, source_row)",
        }
        select = ", ".join(moved.get(column, column) for column in columns)
        before = con.execute(f"select count(*) from {RAW_SCHEMA}.transactions").fetchall()[0][0]
        con.execute(
            f"insert into {RAW_SCHEMA}.transactions ({', '.join(columns)}) select {select}"
            f" from {RAW_SCHEMA}.transactions where cast(invoiced_at as date) ="
            f" (select max(cast(invoiced_at as date)) from {RAW_SCHEMA}.transactions)"
        )
        after = con.execute(f"select count(*) from {RAW_SCHEMA}.transactions").fetchall()[0][0]
    finally:
        con.close()
    return int(after - before)

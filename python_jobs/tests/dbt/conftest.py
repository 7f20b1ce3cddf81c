"""The demo warehouse of the end-to-end tests: generated and built by the full `dbt build` once
per session, then read in place or copied by each module that changes it.

Modules that need another warehouse (other vars from the first build, the real log, the
incremental scenarios, a history of builds) make their own.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import run_dbt, venv_executable

# The size `make test` builds too; the log ends mid-month, like the real one, so its last
# month is partial.
DEMO_CUSTOMERS = 1200
DEMO_MONTHS = 25
DEMO_END_DATE = "2026-09-15"


@dataclass(frozen=True)
class BuiltWarehouse:
    """A built DuckDB file and the folder of its dbt run (target/ with the manifest and
    run_results.json, logs/)."""

    database: Path
    work: Path

    @property
    def target(self) -> Path:
        return self.work / "target"

    def copy_to(self, folder: Path) -> BuiltWarehouse:
        """A copy of the warehouse and of its target folder, to change freely."""
        folder.mkdir(parents=True, exist_ok=True)
        database = folder / self.database.name
        shutil.copyfile(self.database, database)
        shutil.copytree(self.target, folder / "target")
        return BuiltWarehouse(database, folder)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltWarehouse]:
    """The demo log (DEMO_CUSTOMERS over DEMO_MONTHS) after a full default `dbt build`, every
    dbt test included. Shared by the session, so only read: a module that changes the
    warehouse takes ``demo_copy`` (a change to this file fails the session at its end)."""
    work = tmp_path_factory.mktemp("demo_build")
    database = work / "demo.duckdb"
    demo = [str(venv_executable("segmentation")), "demo", "--database", str(database)]
    demo += ["--customers", str(DEMO_CUSTOMERS), "--months", str(DEMO_MONTHS)]
    demo += ["--end-date", DEMO_END_DATE]
    subprocess.run(demo, check=True, capture_output=True)
    run_dbt(["build"], database, work)
    assert not database.with_name(database.name + ".wal").exists(), "dbt left a WAL behind"
    built = _digest(database)
    yield BuiltWarehouse(database, work)
    assert _digest(database) == built, f"a test changed the shared {database}: use demo_copy"


@pytest.fixture(scope="module")
def demo_copy(
    demo_build: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory
) -> BuiltWarehouse:
    """The module's own copy of the session's demo warehouse and target folder."""
    return demo_build.copy_to(tmp_path_factory.mktemp("demo_copy"))

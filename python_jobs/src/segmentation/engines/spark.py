"""A local Apache Spark warehouse: where it lives, what it needs, and its table mover.

The ``spark`` target of profiles.yml runs Spark inside the dbt process (dbt-spark's
``session`` method): no server to start, a folder (``SEGMENTS_SPARK_DIR``) with the tables as
Parquet files and an embedded Derby metastore as their catalog. The metastore admits one
process at a time, so dbt and the table mover (:mod:`segmentation.engines.spark_io`, run as
its own process) take turns, and every Spark process binds to the loopback address only.

:func:`session_settings` is the Spark configuration of that target; a test keeps it equal to
profiles.yml.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

SPARK_DIR_ENV = "SEGMENTS_SPARK_DIR"
LOOPBACK = "127.0.0.1"
MIN_JAVA = 17
INSTALL_HINT = (
    "install the engine adapters (make env-engines: dbt-spark with pyspark) and a Java "
    f"runtime {MIN_JAVA} or newer (apt-get install -y openjdk-{MIN_JAVA}-jre-headless)"
)


def session_settings(folder: Path) -> dict[str, str]:
    """The Spark configuration of the ``spark`` target for a warehouse in ``folder``."""
    return {
        "spark.master": "local[2]",
        "spark.driver.bindAddress": LOOPBACK,
        "spark.driver.host": LOOPBACK,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.adaptive.enabled": "false",
        "spark.sql.codegen.wholeStage": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.warehouse.dir": f"{folder}/tables",
        "javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={folder}/metastore_db;create=true"
        ),
        "spark.driver.extraJavaOptions": (
            f"-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dderby.system.home={folder}"
        ),
    }


def process_env(folder: Path) -> dict[str, str]:
    """Environment variables of a process that runs Spark on ``folder`` (dbt or the mover)."""
    return {SPARK_DIR_ENV: str(folder), "SPARK_LOCAL_IP": LOOPBACK}


def missing_requirements() -> list[str]:
    """What this machine lacks to run the ``spark`` target (empty when nothing)."""
    problems = [
        f"the Python package {package} is not installed"
        for module, package in (("pyspark", "pyspark"), ("dbt.adapters.spark", "dbt-spark"))
        if not _importable(module)
    ]
    version = java_version()
    if version is None:
        problems.append("no Java runtime (java) found")
    elif version < MIN_JAVA:
        problems.append(f"Java {version} found, Spark needs {MIN_JAVA} or newer")
    return problems


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def java_version() -> int | None:
    """The major version of the ``java`` Spark would start, or None when there is none."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        return None
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if not match:
        return None
    major = int(match.group(1))
    # Java 8 and older say "1.8"
    return int(match.group(2) or 0) if major == 1 else major


def mover_command(folder: Path, load: Path | None, dumps: Sequence[tuple[str, Path]]) -> list[str]:
    """The command that loads the tables listed in ``load`` (a transfer manifest) into the
    warehouse in ``folder``, then writes each (table, Parquet folder) of ``dumps``."""
    command = [sys.executable, "-m", "segmentation.engines.spark_io", "--folder", str(folder)]
    if load is not None:
        command += ["--load", str(load)]
    for table, path in dumps:
        command += ["--dump", f"{table}={path}"]
    return command

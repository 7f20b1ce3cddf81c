"""The environment a fit runs in: Python, package versions and BLAS/OpenMP thread pools."""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_info

from segmentation.engine.algorithms import FIT_THREADS

PACKAGES = ("numpy", "pandas", "scikit-learn", "scipy", "segmentation")


def runtime_environment() -> pd.DataFrame:
    """The environment this process fits and scores in: one row per package and BLAS/OpenMP pool.

    Columns: component, kind (``python``, ``package`` or ``thread_pool``), version, detail
    (for a pool: its library file, threading layer and the threads it may use; fits run with
    :data:`segmentation.engine.algorithms.FIT_THREADS` of them).
    """
    rows = [
        {
            "component": name,
            "kind": "python" if name == "python" else "package",
            "version": version,
            "detail": None,
        }
        for name, version in package_versions().items()
    ]
    for pool in threadpool_info():
        rows.append(
            {
                "component": f"{pool['user_api']}:{pool['internal_api']}",
                "kind": "thread_pool",
                "version": pool.get("version"),
                "detail": (
                    f"{Path(pool['filepath']).name}, "
                    f"{pool.get('threading_layer') or 'default'} threading, "
                    f"{pool['num_threads']} threads available, {FIT_THREADS} used by fits"
                ),
            }
        )
    return pd.DataFrame(rows, columns=["component", "kind", "version", "detail"]).astype("string")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions

"""Charts of the segmentation for dbt docs and reports, drawn from warehouse tables.

``segmentation charts`` (see :mod:`segmentation.cli.charts`) calls :func:`render_charts`, which
opens the warehouse read-only, draws every chart of :data:`CHARTS` whose tables exist into
``warehouse/charts/`` (dbt's ``asset-paths`` copy that folder into the docs site) and closes the
connection. Matplotlib runs on the Agg backend (files only; see :mod:`.style`).

The drawing modules (matplotlib, seaborn, scikit-learn) are imported on first use of a name
below, so the ``segmentation`` command line stays quick for every other job.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

# The folder dbt_project.yml's asset-paths copy into the docs site (relative to the project).
DEFAULT_CHARTS_DIR = Path("warehouse/charts")

_LAZY = {
    "CHARTS": "render",
    "CHART_NAMES": "render",
    "DRAWN": "render",
    "FAILED": "render",
    "INDEX_FILE": "render",
    "SKIPPED": "render",
    "Chart": "render",
    "ChartResult": "render",
    "read_index": "render",
    "render_charts": "render",
    "select_charts": "render",
    "ChartSkipped": "source",
    "ChartSource": "source",
    "segment_colour": "style",
    "segment_label": "style",
}

__all__ = ["DEFAULT_CHARTS_DIR", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)

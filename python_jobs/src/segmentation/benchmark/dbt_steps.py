"""Run one ``dbt build`` in this process and record when each node ran and how much memory the
process held meanwhile.

``python -m segmentation.benchmark.dbt_steps ARGS.json RESULT.json``: ARGS is the dbt argument
list (``["build", ...]``), invoked with ``dbtRunner`` exactly as the ``dbt`` command would. dbt
runs Python models in-process (dbt-duckdb), so this process's resident set is the build's
memory: a sampler thread reads it (``VmRSS``) every :data:`SAMPLE_SECONDS`, and ``VmHWM`` (the
peak, reset at the start) gives the build's own peak. RESULT gets the wall time, the peak, the
samples, success, and per node its resource type, language, start and end (seconds from the
start of the invocation) and dbt's execution time.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")
SAMPLE_SECONDS = 0.05


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS to its current RSS; False where the OS cannot."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _status_mib(field: str) -> float | None:
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def peak_rss_mib() -> float:
    """This process's peak RSS since the last reset (``VmHWM``), else since it started."""
    peak = _status_mib("VmHWM")
    if peak is not None:
        return peak
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class RssSampler:
    """Samples this process's resident set size, as (seconds since ``origin``, MiB)."""

    def __init__(self, origin: float, interval: float = SAMPLE_SECONDS) -> None:
        self.origin = origin
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = _status_mib("VmRSS")
            if rss is not None:
                self.samples.append((time.perf_counter() - self.origin, rss))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def run_build(args: list[str]) -> dict[str, Any]:
    """Invoke dbt with ``args`` and describe the run (see the module docstring)."""
    from dbt.cli.main import dbtRunner

    reset_peak_rss()
    wall_start = dt.datetime.now(dt.UTC)
    origin = time.perf_counter()
    with RssSampler(origin) as sampler:
        outcome = dbtRunner().invoke(list(args))
    seconds = time.perf_counter() - origin
    return {
        "seconds": seconds,
        "peak_rss_mib": peak_rss_mib(),
        "success": bool(outcome.success),
        "samples": sampler.samples,
        "nodes": node_timings(outcome.result, wall_start),
    }


def node_timings(result: Any, wall_start: dt.datetime) -> list[dict[str, Any]]:
    """Per node of a dbt result: what it is, when it ran (seconds from ``wall_start``) and
    dbt's execution time."""
    nodes = []
    for node_result in getattr(result, "results", None) or []:
        node = getattr(node_result, "node", None)
        unique_id = getattr(node, "unique_id", None)
        if not unique_id:
            continue
        moments = [
            moment
            for timing in getattr(node_result, "timing", None) or []
            for moment in (timing.started_at, timing.completed_at)
            if moment is not None
        ]
        started = ended = None
        if moments:
            started = _seconds_since(min(moments), wall_start)
            ended = _seconds_since(max(moments), wall_start)
        nodes.append(
            {
                "unique_id": unique_id,
                "resource_type": str(getattr(node, "resource_type", unique_id.split(".")[0])),
                "language": str(getattr(node, "language", None) or "sql"),
                "started": started,
                "ended": ended,
                "execution_time": float(getattr(node_result, "execution_time", 0.0) or 0.0),
            }
        )
    return nodes


def _seconds_since(moment: dt.datetime, start: dt.datetime) -> float:
    if moment.tzinfo is None:  # dbt records UTC without a zone
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - start).total_seconds()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m segmentation.benchmark.dbt_steps ARGS.json RESULT.json")
        return 2
    args = json.loads(Path(argv[0]).read_text())
    result = run_build(args)
    Path(argv[1]).write_text(json.dumps(result, indent=2))
    return 0 if result["success"] else 1


if __name__ == "__main__":
    sys.exit(main())

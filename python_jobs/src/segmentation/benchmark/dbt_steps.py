"""Run the dbt steps of one pipeline run in one process, measuring each step.

``python -m segmentation.benchmark.dbt_steps STEPS.json RESULT.json``: STEPS is a list of
``{"label", "stage", "args"}``; each ``args`` is one dbt invocation (``dbtRunner.invoke``),
run in order in this process, the way one ``dbt build`` would, so dbt is imported and the
project parsed once rather than once per step. Before each step the process's peak resident set
size is reset (``/proc/self/clear_refs``, Linux) and after it ``VmHWM`` is read, so every step
gets its own OS-measured peak. RESULT gets per step: seconds, peak MiB, success and dbt's
execution time per node. Stops at the first failing step (exit code 1).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS to its current RSS; False where the OS cannot."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mib() -> float:
    """This process's peak RSS since the last reset (``VmHWM``), else since it started."""
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Invoke every step with one dbt runner sharing the parsed manifest."""
    from dbt.cli.main import dbtRunner

    results: list[dict[str, Any]] = []
    if not steps:
        return results
    # parse once (with the first step's flags, which carry the paths and vars), then reuse
    parsed = dbtRunner().invoke(["parse", *_path_flags(steps[0]["args"])])
    if not parsed.success:
        results.append({"label": "parse", "stage": steps[0]["stage"], "success": False})
        return results
    runner = dbtRunner(manifest=parsed.result)
    for step in steps:
        reset_peak_rss()
        started = time.perf_counter()
        outcome = runner.invoke(list(step["args"]))
        seconds = time.perf_counter() - started
        results.append(
            {
                "label": step["label"],
                "stage": step["stage"],
                "seconds": seconds,
                "peak_rss_mib": peak_rss_mib(),
                "success": bool(outcome.success),
                "node_seconds": _node_seconds(outcome.result),
            }
        )
        if not outcome.success:
            break
    return results


def _path_flags(args: list[str]) -> list[str]:
    """The project, target, log and vars flags of a step (what ``parse`` needs too)."""
    kept: list[str] = []
    wanted = {"--project-dir", "--target-path", "--log-path", "--vars", "--profiles-dir"}
    for flag, value in zip(args, args[1:], strict=False):
        if flag in wanted:
            kept += [flag, value]
    return kept


def _node_seconds(result: Any) -> dict[str, float]:
    timings: dict[str, float] = {}
    for node_result in getattr(result, "results", None) or []:
        node = getattr(node_result, "node", None)
        unique_id = getattr(node, "unique_id", None)
        if unique_id:
            timings[unique_id] = float(getattr(node_result, "execution_time", 0.0) or 0.0)
    return timings


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m segmentation.benchmark.dbt_steps STEPS.json RESULT.json")
        return 2
    steps = json.loads(Path(argv[0]).read_text())
    results = run_steps(steps)
    Path(argv[1]).write_text(json.dumps(results, indent=2))
    ok = len(results) == len(steps) and all(r["success"] for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

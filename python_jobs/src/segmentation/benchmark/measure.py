"""Wall time and peak memory of a child process, as the operating system reports them.

Every measured step runs in its own child process. Its peak resident set size comes from the
``rusage`` that ``wait4`` returns for exactly that child (Linux: ``ru_maxrss`` in KiB, the
largest of the child and the descendants it waited for), so nothing is estimated and one step's
memory never leaks into the next step's figure.

Linux carries a process's high-water mark across ``fork`` and ``exec``: a child forked straight
from a large parent (a benchmark or test process holding data) would report at least the
parent's size. So the command is started by a tiny launcher interpreter, which forks it from
its own small memory, waits for it and writes the command's own ``rusage`` to a file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# ru_maxrss is in KiB on Linux and in bytes on macOS.
_MAXRSS_PER_MIB = 1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0


# Runs argv[2:], waits for it and writes [ru_maxrss, exit code] of exactly that process to argv[1].
_LAUNCHER = (
    "import json, os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    json.dump([usage.ru_maxrss, os.waitstatus_to_exitcode(status)], out)\n"
)


class StepFailed(RuntimeError):
    """A measured command exited with an error; the message names it and its log."""


@dataclass(frozen=True)
class Measurement:
    """One child process: what ran, how long it took and its peak resident memory."""

    label: str
    seconds: float
    peak_rss_mib: float
    returncode: int
    log_path: Path | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_measured(
    label: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    log_path: Path | None = None,
    check: bool = True,
) -> Measurement:
    """Run ``command`` as a child process and measure it.

    Output (stdout and stderr) goes to ``log_path`` (appended) or is discarded. With ``check``
    a non-zero exit raises :class:`StepFailed` naming the step and the end of its log.
    """
    log_file = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = log_path.open("a", encoding="utf-8")
        log_file.write(f"\n$ {' '.join(command)}\n")
        log_file.flush()
    with tempfile.TemporaryDirectory(prefix="measure-") as scratch:
        usage_file = Path(scratch) / "usage.json"
        try:
            started = time.perf_counter()
            launcher = subprocess.run(
                [sys.executable, "-c", _LAUNCHER, str(usage_file), *command],
                env=dict(env) if env is not None else None,
                cwd=cwd,
                stdout=log_file if log_file is not None else subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            seconds = time.perf_counter() - started
        finally:
            if log_file is not None:
                log_file.close()
        if launcher.returncode != 0 or not usage_file.exists():
            # the command could not even be started (e.g. not found): the launcher failed
            maxrss, returncode = 0, launcher.returncode or 1
        else:
            maxrss, returncode = json.loads(usage_file.read_text())
    measurement = Measurement(
        label=label,
        seconds=seconds,
        peak_rss_mib=maxrss / _MAXRSS_PER_MIB,
        returncode=returncode,
        log_path=log_path,
    )
    if check and not measurement.ok:
        raise StepFailed(_failure_message(measurement))
    return measurement


def combine(label: str, parts: Sequence[Measurement]) -> Measurement:
    """Several child processes run one after another, as one step: times add up, the peak is
    the largest peak (they never ran at the same time)."""
    if not parts:
        return Measurement(label=label, seconds=0.0, peak_rss_mib=0.0, returncode=0)
    failed = [p.returncode for p in parts if p.returncode != 0]
    return Measurement(
        label=label,
        seconds=sum(p.seconds for p in parts),
        peak_rss_mib=max(p.peak_rss_mib for p in parts),
        returncode=failed[0] if failed else 0,
        log_path=parts[-1].log_path,
    )


def _failure_message(measurement: Measurement) -> str:
    message = f"step '{measurement.label}' failed with exit code {measurement.returncode}"
    if measurement.log_path is None or not measurement.log_path.exists():
        return message
    tail = measurement.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
    return f"{message}; end of {measurement.log_path}:\n{tail}"

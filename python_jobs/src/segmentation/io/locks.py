"""Who holds a DuckDB file: stop before `dbt build` runs into "Could not set lock on file".

DuckDB takes a POSIX (``fcntl``) lock on the whole database file: a shared lock per read-only
process, an exclusive one for the single writer. A BI tool that keeps the warehouse open
therefore makes every build fail, and a running build makes every reader fail.

On Linux the held locks are listed in ``/proc/locks`` by device and inode, with the holder's
PID, so the holders are found without opening the file (opening and closing a file in this
process would drop any lock this process holds on it: POSIX locks are per process). Elsewhere
DuckDB itself is asked: its lock error names the program and PID that hold the file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from segmentation.errors import JobError

PROC_LOCKS = Path("/proc/locks")
# DuckDB's message: '... Conflicting lock is held in /usr/bin/python3 (PID 4242) by user x. ...'
_DUCKDB_HOLDER = re.compile(r"held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


@dataclass(frozen=True)
class LockHolder:
    """One process holding a lock on the file."""

    pid: int | None  # None when the holder is outside this machine's process view
    lock: str  # "read", "write" or "unknown"
    command: str | None  # its command line, when it can be read

    def describe(self) -> str:
        """One line for a person: PID, lock kind and command."""
        who = f"PID {self.pid}" if self.pid else "a process outside this system's view"
        kind = f"{self.lock} lock" if self.lock != "unknown" else "lock"
        return f"{who} ({kind}): {self.command or 'command line not readable'}"


class DatabaseLockedError(JobError):
    """The database file is locked by another process (the message says which and what to do)."""


def lock_holders(path: Path) -> tuple[LockHolder, ...]:
    """Other processes holding a DuckDB lock on ``path`` (empty when nobody does).

    Uses ``/proc/locks`` where it exists (no side effects); otherwise tries to open the file for
    writing with DuckDB and reads the holder from its lock error.
    """
    path = Path(path)
    if not path.exists():
        return ()
    if PROC_LOCKS.exists():
        return _holders_from_proc(path, PROC_LOCKS.read_text())
    return _holders_from_duckdb(path)


def _holders_from_proc(path: Path, proc_locks: str) -> tuple[LockHolder, ...]:
    """Parse ``/proc/locks`` lines such as ``1: POSIX  ADVISORY  READ 4242 fe:00:2237393 0 EOF``."""
    stat = path.stat()
    wanted = (os.major(stat.st_dev), os.minor(stat.st_dev), stat.st_ino)
    holders: dict[int | None, LockHolder] = {}
    for line in proc_locks.splitlines():
        fields = line.split()
        # A waiting request is shown as "1: -> POSIX ..."; only granted locks count.
        if len(fields) < 6 or fields[1] == "->" or fields[1] not in ("POSIX", "OFDLCK", "FLOCK"):
            continue
        try:
            major, minor, inode = fields[5].split(":")
            key = (int(major, 16), int(minor, 16), int(inode))
            pid = int(fields[4])
        except ValueError:
            continue
        if key != wanted or pid == os.getpid():
            continue
        lock = {"READ": "read", "WRITE": "write"}.get(fields[3], "unknown")
        pid_or_none = pid if pid > 0 else None
        previous = holders.get(pid_or_none)
        if previous is None or lock == "write":
            holders[pid_or_none] = LockHolder(pid_or_none, lock, _command_line(pid))
    return tuple(sorted(holders.values(), key=lambda h: h.pid or 0))


def _holders_from_duckdb(path: Path) -> tuple[LockHolder, ...]:
    """Ask DuckDB: opening for writing fails while any other process holds the file."""
    try:
        duckdb.connect(str(path)).close()
    except duckdb.IOException as error:
        message = str(error)
        if "lock" not in message.lower():
            raise
        match = _DUCKDB_HOLDER.search(message)
        if match is None:
            return (LockHolder(None, "unknown", None),)
        return (LockHolder(int(match["pid"]), "unknown", match["program"]),)
    return ()


def _command_line(pid: int) -> str | None:
    """The command line of ``pid`` from ``/proc`` (None when it cannot be read)."""
    if pid <= 0:
        return None
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    text = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    return text[:300] or None


def processes_with_file_open(path: Path) -> tuple[int, ...]:
    """PIDs (other than this one) with ``path`` open, found by scanning ``/proc/*/fd`` like fuser.

    Holding a file open is not holding a lock (a copy or backup tool reads without one), so this
    only adds detail; :func:`lock_holders` decides whether a build can write.
    """
    target = Path(path).resolve()
    found: list[int] = []
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        pid = int(fd_dir.parent.name)
        if pid == os.getpid():
            continue
        try:
            links = list(fd_dir.iterdir())
        except OSError:
            continue
        for link in links:
            try:
                if Path(os.readlink(link)) == target:
                    found.append(pid)
                    break
            except OSError:
                continue
    return tuple(sorted(found))


def locked_message(path: Path, holders: tuple[LockHolder, ...], purpose: str) -> str:
    """What is wrong and what to do, for a person (no traceback)."""
    lines = [f"{path} is in use by another process, so {purpose}:"]
    lines += [f"  {holder.describe()}" for holder in holders]
    pids = " ".join(str(h.pid) for h in holders if h.pid)
    lines.append(
        "DuckDB allows one writing process or many readers, never both. Close the warehouse in "
        "the program above (a BI tool, notebook, `duckdb` shell or a running dbt command)"
        + (f", or stop it with `kill {pids}`," if pids else ",")
        + " then run again."
    )
    lines.append(
        "Dashboards should read the published copy (`segmentation publish`, by default "
        "warehouse/serving.duckdb), which builds never lock."
    )
    return "\n".join(lines)


def ensure_unlocked(path: Path, purpose: str = "dbt build cannot write to it") -> None:
    """Raise :class:`DatabaseLockedError` when another process holds a lock on ``path``."""
    holders = lock_holders(path)
    if not holders:
        return
    if any(holder.pid is None for holder in holders) and Path("/proc").is_dir():
        # The lock's owner is not visible by PID (e.g. another PID namespace): name the visible
        # processes that have the file open instead.
        known = {holder.pid for holder in holders}
        holders += tuple(
            LockHolder(pid, "unknown", _command_line(pid))
            for pid in processes_with_file_open(path)
            if pid not in known
        )
    raise DatabaseLockedError(locked_message(path, holders, purpose))

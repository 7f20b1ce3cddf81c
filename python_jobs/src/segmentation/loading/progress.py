"""A plain-text progress bar on stderr, so long loads show that they are moving."""

from __future__ import annotations

import sys
from typing import TextIO

BAR_WIDTH = 30
# Without a terminal (logs, CI) a line is printed only when one of these fractions is passed.
LOG_STEPS = (0.25, 0.5, 0.75, 1.0)
# ... or, when the total is unknown, every this many units.
LOG_EVERY_UNKNOWN = 250_000


class Progress:
    """Counts work done out of ``total`` and draws it on ``stream``.

    On a terminal the bar is redrawn in place; otherwise one line is printed per quarter so
    that log files stay short. With ``total=None`` (unknown) only the count is shown.
    ``enabled=False`` makes every call a no-op.
    """

    def __init__(
        self,
        total: int | None,
        label: str,
        stream: TextIO | None = None,
        enabled: bool = True,
    ) -> None:
        self.total = max(int(total), 1) if total else None
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.done = 0
        self._next_step = 0
        self._next_count = LOG_EVERY_UNKNOWN
        self._interactive = bool(getattr(self.stream, "isatty", lambda: False)())

    def advance(self, amount: int = 1, detail: str = "") -> None:
        """Record ``amount`` more units of work and redraw."""
        self.done += amount
        if self.total is not None:
            self.done = min(self.done, self.total)
        if not self.enabled:
            return
        if self._interactive:
            self.stream.write("\r" + self._line(detail))
            self.stream.flush()
        elif self._passed_a_step():
            self.stream.write(self._line(detail) + "\n")
            self.stream.flush()

    def finish(self) -> None:
        """End the bar's line on a terminal."""
        if self.enabled and self._interactive:
            self.stream.write("\n")
            self.stream.flush()

    def _passed_a_step(self) -> bool:
        """Whether a logging step was passed since the last line (then move past it)."""
        if self.total is None:
            if self.done < self._next_count:
                return False
            while self._next_count <= self.done:
                self._next_count += LOG_EVERY_UNKNOWN
            return True
        fraction = self.done / self.total
        passed = False
        while self._next_step < len(LOG_STEPS) and fraction >= LOG_STEPS[self._next_step]:
            self._next_step += 1
            passed = True
        return passed

    def _line(self, detail: str) -> str:
        suffix = f" {detail}" if detail else ""
        if self.total is None:
            return f"{self.label}: {self.done:,}{suffix}"
        filled = round(BAR_WIDTH * self.done / self.total)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return f"{self.label} [{bar}] {self.done:,}/{self.total:,}{suffix}"

"""A plain-text progress bar on stderr, so long loads show that they are moving."""

from __future__ import annotations

import sys
from typing import TextIO

BAR_WIDTH = 30
# Without a terminal (logs, CI) only these fractions are printed, one line each.
LOG_STEPS = (0.25, 0.5, 0.75, 1.0)


class Progress:
    """Counts work done out of ``total`` and draws it on ``stream``.

    On a terminal the bar is redrawn in place; otherwise a line is printed at each quarter so
    that log files stay short. ``enabled=False`` makes every call a no-op.
    """

    def __init__(
        self,
        total: int,
        label: str,
        stream: TextIO | None = None,
        enabled: bool = True,
    ) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.done = 0
        self._next_step = 0
        self._interactive = bool(getattr(self.stream, "isatty", lambda: False)())

    def advance(self, amount: int = 1, detail: str = "") -> None:
        """Record ``amount`` more units of work and redraw."""
        self.done = min(self.done + amount, self.total)
        if not self.enabled:
            return
        fraction = self.done / self.total
        if self._interactive:
            self.stream.write("\r" + self._line(fraction, detail))
            self.stream.flush()
            return
        while self._next_step < len(LOG_STEPS) and fraction >= LOG_STEPS[self._next_step]:
            self._next_step += 1
            self.stream.write(self._line(fraction, detail) + "\n")
            self.stream.flush()

    def finish(self) -> None:
        """End the bar's line on a terminal."""
        if self.enabled and self._interactive:
            self.stream.write("\n")
            self.stream.flush()

    def _line(self, fraction: float, detail: str) -> str:
        filled = round(BAR_WIDTH * fraction)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        suffix = f" {detail}" if detail else ""
        return f"{self.label} [{bar}] {self.done:,}/{self.total:,}{suffix}"

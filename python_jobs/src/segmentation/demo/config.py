"""What a demo log is: its size, window and seed (``DemoConfig``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from segmentation.demo.tuning import DEFAULT_END_DATE
from segmentation.io.contract import DEMO_SOURCE_PREFIX


@dataclass(frozen=True)
class DemoConfig:
    """Size and seed of a demo log: ``months`` calendar months ending on ``end_date``.

    The window starts on the first day of the first month and ends on ``end_date`` inclusive,
    so an ``end_date`` in the middle of a month gives a partial last month, like the real log.
    """

    customers: int = 5000
    months: int = 25
    seed: int = 42
    end_date: dt.date = DEFAULT_END_DATE

    def __post_init__(self) -> None:
        for name in ("customers", "months", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"{name} must be an integer, got {value!r}")
        if self.customers < 1:
            raise ValueError(f"customers must be at least 1, got {self.customers}")
        if self.months < 1:
            raise ValueError(f"months must be at least 1, got {self.months}")
        if self.months > 1200:
            raise ValueError(f"months must be at most 1200, got {self.months}")
        if self.seed < 0:
            raise ValueError(f"seed must be zero or positive, got {self.seed}")
        if not isinstance(self.end_date, dt.date) or isinstance(self.end_date, dt.datetime):
            raise ValueError(f"end_date must be a datetime.date, got {self.end_date!r}")

    @property
    def start_date(self) -> dt.date:
        """First day of the data window (the first day of the first month)."""
        month_index = self.end_date.year * 12 + self.end_date.month - 1 - (self.months - 1)
        return dt.date(month_index // 12, month_index % 12 + 1, 1)

    @property
    def source_file(self) -> str:
        """The ``source_file`` value written on every generated row."""
        return f"{DEMO_SOURCE_PREFIX}seed={self.seed}"

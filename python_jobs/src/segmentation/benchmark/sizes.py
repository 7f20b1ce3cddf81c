"""The sizes the benchmark generates: demo customers and months of history.

The demo generator writes about 100 lines per customer over 25 months (about 10 lines per
order); the 50M-line size keeps 11 months so that it has 1,000,000 customers. A size is named
by a preset (``1m``, ``10m``, ``50m``, ``smoke``) or written ``CUSTOMERSxMONTHS``
(e.g. ``20000x25``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class SizeError(ValueError):
    """A size that cannot be parsed; the message names it and the accepted forms."""


@dataclass(frozen=True)
class BenchSize:
    """One benchmark size: ``customers`` demo customers over ``months`` months."""

    name: str
    customers: int
    months: int

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise SizeError(f"size {self.name!r}: customers must be at least 1")
        if not 1 <= self.months <= 1200:
            raise SizeError(f"size {self.name!r}: months must be from 1 to 1200")


# name -> (customers, months); the comment is the line count the generator gives (seed 42)
PRESETS: dict[str, tuple[int, int]] = {
    "smoke": (1_200, 25),  # ~0.14M lines, the size `make test` builds
    "1m": (8_500, 25),  # ~1.07M lines
    "10m": (85_000, 25),  # ~10.7M lines
    "50m": (1_000_000, 8),  # ~51M lines
}
DEFAULT_SIZES = ("1m", "10m", "50m")

_CUSTOM = re.compile(r"(\d+)x(\d+)")


def parse_size(text: str) -> BenchSize:
    """A preset name or ``CUSTOMERSxMONTHS``; :class:`SizeError` otherwise."""
    name = text.strip().lower().replace("_", "")
    if name in PRESETS:
        customers, months = PRESETS[name]
        return BenchSize(name, customers, months)
    match = _CUSTOM.fullmatch(name)
    if match is None:
        raise SizeError(
            f"unknown size {text!r}: use one of {', '.join(PRESETS)} or CUSTOMERSxMONTHS "
            "(e.g. 20000x25)"
        )
    return BenchSize(name, int(match.group(1)), int(match.group(2)))


def parse_sizes(text: str) -> list[BenchSize]:
    """Comma-separated sizes, in the order given, each at most once."""
    sizes: list[BenchSize] = []
    for part in text.split(","):
        if not part.strip():
            continue
        size = parse_size(part)
        if size not in sizes:
            sizes.append(size)
    if not sizes:
        raise SizeError("no size given")
    return sizes

"""The demo's calendar: open days, and when each archetype orders (day and time of day).

Every archetype (and the guest checkouts) has a density over the days of the window, the
product of its month and weekday profiles, zero while the shop is closed over Christmas; days
are drawn from it by inverse CDF. Times of day come from the archetype's hour profile, or for
evening orders from the evening profile (row ``EVENING`` of ``Calendar.hour_cdf``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from segmentation.demo.config import DemoConfig
from segmentation.demo.tuning import (
    ARCHETYPES,
    CHRISTMAS_CLOSURE,
    EVENING_PROFILE,
    GUEST_PROFILES,
    HOUR_PROFILES,
    MONTH_PROFILES,
    WEEKDAY_PROFILES,
)

# Row of Calendar.hour_cdf with the hours of evening orders (after the archetypes and guests).
EVENING = len(ARCHETYPES) + 1


@dataclass(frozen=True)
class Calendar:
    """Days of the window and, per archetype, the cumulative daily order density."""

    start: dt.date
    n_days: int
    month: np.ndarray  # 1..12 per day
    is_open: np.ndarray  # False over the Christmas closure
    next_open: np.ndarray  # first open day >= d (or d itself when none is left)
    previous_open: np.ndarray  # last open day <= d (or d itself when there is none)
    cumulative: np.ndarray  # (archetypes + guest, n_days + 1)
    hour_cdf: np.ndarray  # (archetypes + guest + evening, 24)

    @property
    def years(self) -> float:
        """Length of the window in years."""
        return self.n_days / 365.25


def _normalised(values: tuple[float, ...]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array / array.mean()


def _hour_weights(profile: str) -> np.ndarray:
    weights = np.zeros(24)
    for hour, weight in HOUR_PROFILES[profile].items():
        weights[hour] = weight
    return weights / weights.sum()


def _open_days(month: np.ndarray, day_of_month: np.ndarray) -> np.ndarray:
    """True on the days the shop is open: every day but the Christmas closure (kept open
    when the closure would be most of a very short window)."""
    closes, reopens = CHRISTMAS_CLOSURE
    closed = ((month == 12) & (day_of_month >= closes)) | ((month == 1) & (day_of_month <= reopens))
    return ~closed if closed.mean() < 0.5 else np.ones(month.size, dtype=bool)


def _nearest_open_days(is_open: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per day, the first open day on or after it and the last open day on or before it
    (the day itself when there is none)."""
    n_days = is_open.size
    open_days = np.flatnonzero(is_open)
    next_open = np.arange(n_days)
    position = np.searchsorted(open_days, next_open, side="left")
    has_next = position < open_days.size
    next_open[has_next] = open_days[position[has_next]]
    previous_open = np.arange(n_days)
    position = np.searchsorted(open_days, previous_open, side="right") - 1
    has_previous = position >= 0
    previous_open[has_previous] = open_days[position[has_previous]]
    return next_open, previous_open


def _order_densities(
    month: np.ndarray, weekday: np.ndarray, is_open: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per archetype (guest last): the cumulative daily order density (0 before the first
    day) and the cumulative distribution of the hour of day (one more row: evening orders)."""
    profiles = [(a.month_profile, a.weekday_profile, a.hour_profile) for a in ARCHETYPES]
    profiles.append(GUEST_PROFILES)
    cumulative = np.zeros((len(profiles), month.size + 1))
    hour_cdf = np.zeros((len(profiles) + 1, 24))
    for row, (month_profile, weekday_profile, hour_profile) in enumerate(profiles):
        density = (
            _normalised(MONTH_PROFILES[month_profile])[month - 1]
            * _normalised(WEEKDAY_PROFILES[weekday_profile])[weekday]
            * is_open
        )
        cumulative[row, 1:] = np.cumsum(density)
        hour_cdf[row] = np.cumsum(_hour_weights(hour_profile))
    hour_cdf[EVENING] = np.cumsum(_hour_weights(EVENING_PROFILE))
    hour_cdf[:, -1] = 1.0
    return cumulative, hour_cdf


def build_calendar(config: DemoConfig) -> Calendar:
    """The calendar of the configuration's window."""
    start = config.start_date
    n_days = (config.end_date - start).days + 1
    days = np.datetime64(start, "D") + np.arange(n_days)
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day_of_month = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    is_open = _open_days(month, day_of_month)
    next_open, previous_open = _nearest_open_days(is_open)
    cumulative, hour_cdf = _order_densities(month, weekday, is_open)
    return Calendar(start, n_days, month, is_open, next_open, previous_open, cumulative, hour_cdf)


def sample_days(
    calendar: Calendar, profile: np.ndarray, first: np.ndarray, last: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Days in ``[first, last]`` drawn by inverse CDF of each row's density, ``u`` in [0, 1)."""
    cumulative = calendar.cumulative
    low = cumulative[profile, first]
    high = cumulative[profile, last + 1]
    target = low + u * (high - low)
    days = np.empty(profile.size, dtype=np.int64)
    for row in np.unique(profile):
        mask = profile == row
        days[mask] = np.searchsorted(cumulative[row], target[mask], side="right") - 1
    return np.clip(days, first, last)


def sample_minutes(calendar: Calendar, profile: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Minute of the day from each row's hour profile (``profile``: rows of ``hour_cdf``)."""
    u = rng.random(profile.size)
    hours = np.empty(profile.size, dtype=np.int64)
    for row in np.unique(profile):
        mask = profile == row
        hours[mask] = np.searchsorted(calendar.hour_cdf[row], u[mask], side="right")
    return np.minimum(hours, 23) * 60 + rng.integers(0, 60, profile.size)

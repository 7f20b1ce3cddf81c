"""Single values as the output tables and the registry's JSON store them.

pandas and numpy hand over their own scalars (``numpy.int64``, ``pd.NA``, ``NaN`` for a missing
float); rows written to a table or to JSON want plain Python values and ``None`` for missing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def python_scalar(value: object) -> object:
    """A missing value (None, NaN, NA, NaT) as None, a numpy scalar as the Python one."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def optional_float(value: object) -> float | None:
    """A number as float, a missing value (None, NaN, NA) as None."""
    if value is None or pd.isna(value):
        return None
    return float(value)


def finite_or_none(value: float | None) -> float | None:
    """``value`` as float when it is finite, else None (NaN and infinities are not measures)."""
    return float(value) if value is not None and np.isfinite(value) else None


def json_ready(value: Any) -> Any:
    """``value`` with everything JSON can hold: mappings and sequences recursively, missing
    values as None, numpy scalars as Python ones, dates and timestamps as ISO text."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value

"""What a fit reads and how runs recognise the same input: canonical customer order, the
columns that influence the model, fingerprints, and the in-process cache of fits.

dbt-duckdb runs every Python model in the dbt process, so the tables of one fit (candidates,
model, representatives, assignments) are computed by separate calls that share work through
:func:`memoised`, keyed by a :func:`fingerprint` of their inputs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from segmentation.config.segmentation import SegmentationSettings
from segmentation.engine.prepare import ID_COLUMN, attribute_indicators

MONETARY_COLUMN = "monetary_amount"


class SegmentationInputError(ValueError):
    """The input cannot be segmented (e.g. too few customers); the message names the cause."""


def canonical(features: pd.DataFrame) -> pd.DataFrame:
    """``features`` with text customer ids, in customer_id order (what every step fits on)."""
    if ID_COLUMN not in features.columns:
        raise SegmentationInputError(
            f"fct_customer_features has no {ID_COLUMN} column; columns: {list(features.columns)}"
        )
    frame = features.copy()
    frame[ID_COLUMN] = frame[ID_COLUMN].astype(str)
    return frame.sort_values(ID_COLUMN, kind="stable").reset_index(drop=True)


def as_of_date(features: pd.DataFrame) -> dt.date | None:
    """The single as-of date of the feature rows (None when the column is absent)."""
    if "as_of_date" not in features.columns:
        return None
    values = features["as_of_date"].dropna().unique()
    if len(values) > 1:
        raise SegmentationInputError(
            f"fct_customer_features mixes {len(values)} as_of_date values; expected one"
        )
    return pd.Timestamp(values[0]).date() if len(values) else None


def model_inputs(features: pd.DataFrame, settings: SegmentationSettings) -> pd.DataFrame:
    """Only the columns that influence the tables (for fingerprints)."""
    prep = settings.preparation
    columns = [ID_COLUMN, *prep.features]
    columns += [rule for _, rule in prep.imputation if isinstance(rule, str) and rule != "median"]
    columns += [MONETARY_COLUMN, "as_of_date", "first_order_at", "last_order_at"]
    columns += [name for _, _, names in attribute_indicators(features, prep) for name in names]
    present = [c for c in dict.fromkeys(columns) if c in features.columns]
    return features[present]


# Significant bits kept by input_fingerprint: a warehouse's parallel float sums may differ in
# the last bits from build to build, which must not count as changed data. Rounding to a binary
# grid (about 6 decimal digits) keeps values with short binary expansions (0.5, 444.5) on grid
# points, never on the boundaries between them, so such noise almost never crosses one.
FINGERPRINT_BITS = 20


def input_fingerprint(features: pd.DataFrame, settings: SegmentationSettings, *extra: str) -> str:
    """A hash of the columns that influence the model (in canonical order) and ``extra``.

    Floats are rounded to :data:`FINGERPRINT_BITS` significant bits first, so the same data
    summed in another order hashes the same.
    """
    inputs = model_inputs(canonical(features), settings).copy()
    for name in inputs.columns:
        if pd.api.types.is_float_dtype(inputs[name]):
            inputs[name] = round_significant_bits(
                inputs[name].to_numpy(dtype=float), FINGERPRINT_BITS
            )
    return fingerprint(inputs, settings.to_json(), *extra)


def round_significant_bits(values: np.ndarray, bits: int) -> np.ndarray:
    """``values`` rounded to ``bits`` significant binary digits (NaN, inf and 0 unchanged)."""
    out = np.asarray(values, dtype=float).copy()
    finite = np.isfinite(out) & (out != 0.0)
    mantissa, exponent = np.frexp(out[finite])
    out[finite] = np.ldexp(np.round(np.ldexp(mantissa, bits)), exponent - bits)
    return out


_LOCK = threading.RLock()
_CACHE: OrderedDict[str, Any] = OrderedDict()
_CACHE_SIZE = 8
T = TypeVar("T")


def memoised(key: str, compute: Callable[[], T]) -> T:
    """``compute()``, or its value from the last few calls with the same ``key``."""
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        value = compute()
        _CACHE[key] = value
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        return value


def fingerprint(*parts: pd.DataFrame | str) -> str:
    """SHA-256 of frames (columns and values) and texts, in order."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, pd.DataFrame):
            digest.update(",".join(map(str, part.columns)).encode())
            digest.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
        else:
            digest.update(part.encode())
        digest.update(b"|")
    return digest.hexdigest()


def cached(key: str) -> Any:
    """The memoised value of ``key``, or None."""
    with _LOCK:
        return _CACHE.get(key)


def clear_cache() -> None:
    """Forget memoised fits (tests use it to prove results do not depend on the cache)."""
    with _LOCK:
        _CACHE.clear()

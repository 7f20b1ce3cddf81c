"""The archetypes as arrays: each parameter indexed by archetype code, guest checkouts last.

Customers carry their archetype as a code (the position in ``tuning.ARCHETYPES``); guest
checkouts behave like one more, unnamed archetype (``GUEST``), so that one array lookup gives
any line's parameter whether it has a customer or not.
"""

from __future__ import annotations

import numpy as np

from segmentation.demo.tuning import (
    ARCHETYPES,
    GUEST_CHRISTMAS,
    GUEST_PACK_SHARE,
    GUEST_PACKS,
    GUEST_SEGMENTS,
    ORDER_LINES_DISPERSION,
)

ARCHETYPE_NAMES: tuple[str, ...] = tuple(a.name for a in ARCHETYPES)
ONE_TIME = ARCHETYPE_NAMES.index("one_time_buyer")
WHOLESALE = ARCHETYPE_NAMES.index("wholesale")
LOYAL_HIGH_VALUE = ARCHETYPE_NAMES.index("loyal_high_value")
# Guest checkouts behave like one more (unnamed) archetype in the parameter arrays.
GUEST = len(ARCHETYPES)


def archetype_values(name: str, guest: float) -> np.ndarray:
    """One archetype attribute as an array indexed by archetype code (``guest`` last)."""
    return np.array([getattr(a, name) for a in ARCHETYPES] + [guest], dtype=float)


# Guests have their own line-count mixture and their orders are never returned: their orders
# per year, lines per order and return rate and delay are placeholders that are never used.
ORDERS_PER_YEAR = archetype_values("orders_per_year", 0.0)
LINES_PER_ORDER = archetype_values("lines_per_order", 0.0)
PACKS = archetype_values("packs", GUEST_PACKS)
PACK_SHARE = archetype_values("pack_share", GUEST_PACK_SHARE)
CHRISTMAS_AFFINITY = archetype_values("christmas", GUEST_CHRISTMAS)
RETURN_RATE = archetype_values("returns", 0.0)
RETURN_DAYS = archetype_values("return_days", 1.0)
SEGMENT_CDF = np.cumsum(np.array([a.segments for a in ARCHETYPES] + [GUEST_SEGMENTS]), axis=1)

# Customer-only attributes (no guest entry), indexed by archetype code.
SHARES = np.array([a.share for a in ARCHETYPES])
UK_SHARE = np.array([a.uk_share for a in ARCHETYPES])
START_LOW = np.array([a.start[0] for a in ARCHETYPES])
START_HIGH = np.array([a.start[1] for a in ARCHETYPES])
REGULAR = np.array([a.regular for a in ARCHETYPES])
MIN_ORDERS = np.array([a.min_orders for a in ARCHETYPES])
EVENING_SHOPPERS = np.array([a.evening_shoppers for a in ARCHETYPES])
METRE_BUYERS = np.array([a.metre_buyers for a in ARCHETYPES])
LINES_DISPERSION = np.array(
    [a.lines_dispersion or ORDER_LINES_DISPERSION for a in ARCHETYPES], dtype=float
)

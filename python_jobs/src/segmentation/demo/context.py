"""What every chunk of a demo log shares: configuration, calendar, catalogue and countries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from segmentation.demo.calendar import Calendar, build_calendar
from segmentation.demo.catalogue import Catalogue, build_catalogue
from segmentation.demo.config import DemoConfig
from segmentation.demo.tuning import (
    CHUNK_CUSTOMERS,
    FOREIGN_COUNTRIES,
    GUEST_COUNTRIES,
    UNITED_KINGDOM,
    WHOLESALE_COUNTRY_BOOST,
)

# Postage zones of the countries (``tuning.FOREIGN_COUNTRIES``); the United Kingdom is "eu".
ZONES = ("eu", "world", "carriage")
EU_ZONE, WORLD_ZONE, CARRIAGE_ZONE = range(len(ZONES))


@dataclass(frozen=True)
class Context:
    """The generation context; countries are indexed by their position in ``countries``
    (the United Kingdom first)."""

    config: DemoConfig
    calendar: Calendar
    catalogue: Catalogue
    countries: pa.Array
    foreign: np.ndarray  # country ids outside the UK
    foreign_weights: np.ndarray  # (2, foreign): retail and wholesale shares
    zone: np.ndarray  # per country: position in ZONES
    guest_countries: np.ndarray
    guest_weights: np.ndarray

    @property
    def n_chunks(self) -> int:
        """Number of chunks of customers."""
        return -(-self.config.customers // CHUNK_CUSTOMERS)

    def chunk_customers(self, chunk: int) -> tuple[int, int]:
        """Position of the chunk's first customer and its number of customers."""
        first = chunk * CHUNK_CUSTOMERS
        return first, min(CHUNK_CUSTOMERS, self.config.customers - first)


def build_context(config: DemoConfig) -> Context:
    """The context of a configuration (its catalogue depends on the seed)."""
    calendar = build_calendar(config)
    names = [UNITED_KINGDOM, *FOREIGN_COUNTRIES]
    shares = np.array([share for share, _ in FOREIGN_COUNTRIES.values()])
    boost = np.array([WHOLESALE_COUNTRY_BOOST.get(name, 1.0) for name in FOREIGN_COUNTRIES])
    zone = np.array([EU_ZONE] + [ZONES.index(z) for _, z in FOREIGN_COUNTRIES.values()])
    return Context(
        config=config,
        calendar=calendar,
        catalogue=build_catalogue(config, calendar),
        countries=pa.array(names, type=pa.string()),
        foreign=np.arange(1, len(names)),
        foreign_weights=np.vstack([shares / shares.sum(), shares * boost / (shares @ boost)]),
        zone=zone,
        guest_countries=np.array([names.index(c) for c in GUEST_COUNTRIES]),
        guest_weights=np.array(list(GUEST_COUNTRIES.values())) / sum(GUEST_COUNTRIES.values()),
    )

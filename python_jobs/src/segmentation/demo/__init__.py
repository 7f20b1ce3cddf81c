"""Deterministic demo data: a seeded transaction log shaped like a real online retailer's.

The generator writes ``raw.transactions`` in the input contract (see ``contract.py``) and the
planted truth ``raw.customer_archetypes``. Its model is the UCI Online Retail log: six-digit
invoice numbers that grow with time, ``C`` cancellations and ``A`` bad-debt adjustments,
stock codes such as ``85123A`` next to non-product codes (``POST``, ``DOT``, ``M``, ``C2``,
``D``, ``S``, ``BANK CHARGES``, ``AMAZONFEE``, ``CRUK``, ``gift_0001_10``), upper-case
descriptions, the United Kingdom dominant among countries, a November peak and the shop closed
over Christmas. The real log's quirks are planted on purpose: cancellations (including a
mistaken huge order reversed by a matching negative line), guest checkouts without a customer
id, non-product lines, zero prices, stock adjustments with negative quantities, exact duplicate
lines, a handful of customers seen in two countries and a few wholesale "whales".

Every customer is drawn from one behavioural archetype (``ARCHETYPES``) with its own order
cadence, basket size, price level, recency, seasonality, weekday and hour habits and return
rate, so that a clustering on RFM plus behavioural features can recover them.

Scale: customers are generated in chunks of ``CHUNK_CUSTOMERS`` with numpy (one random stream
per chunk, derived from the seed), turned into Arrow tables and inserted chunk by chunk, so the
whole log is never held in memory. Invoice numbers are allocated in a cheap first pass over
the invoice headers of every chunk, so that they increase day by day across the whole log.
The same configuration always gives byte-identical tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentation.io import warehouse
from segmentation.io.contract import (
    ARCHETYPE_COLUMNS,
    ARCHETYPES_TABLE,
    DEMO_SOURCE_PREFIX,
    RAW_SCHEMA,
    TRANSACTION_COLUMNS,
    TRANSACTIONS_TABLE,
    create_table_sql,
)

DEFAULT_END_DATE = dt.date(2026, 9, 30)

# Customers generated together; part of the output's definition (changing it changes the data).
CHUNK_CUSTOMERS = 2500
FIRST_CUSTOMER_ID = 12346
FIRST_INVOICE_NUMBER = 536365
# Tables in the raw schema that hold the chunks until they are swapped in (then dropped).
STAGING_TRANSACTIONS = "demo_staging_transactions"
STAGING_ARCHETYPES = "demo_staging_customer_archetypes"

# Arrow types of the contract's DuckDB types.
ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "TIMESTAMP": pa.timestamp("us"),
}
TRANSACTIONS_SCHEMA = pa.schema([(n, ARROW_TYPES[t]) for n, t in TRANSACTION_COLUMNS.items()])
ARCHETYPES_SCHEMA = pa.schema([(n, ARROW_TYPES[t]) for n, t in ARCHETYPE_COLUMNS.items()])


# --------------------------------------------------------------------------------------------
# Configuration and results
# --------------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class DemoSummary:
    """What ``write_demo`` wrote."""

    rows: int
    customers: int
    invoices: int
    source_file: str


# --------------------------------------------------------------------------------------------
# Behaviour: archetypes and calendar profiles
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Archetype:
    """Planted behaviour of one kind of customer.

    ``start`` is the range of the first possible order as a fraction of the window;
    ``active`` (fractions of the window) limits how long the customer keeps buying (``None``:
    until the end); ``recent_days`` instead starts the customer within the last days.
    ``orders_per_year`` of 0 means exactly one order. A line is bought by the product's pack
    with probability ``pack_share`` (else by the unit), ``packs`` is the mean number of extra
    packs (or units) per line; ``segments`` the shares of cheap, mid-priced and premium products;
    ``christmas`` scales the store's share of Christmas products; ``returns`` is the share of
    orders partly cancelled later, ``return_days`` the mean delay of those cancellations.
    """

    name: str
    share: float
    start: tuple[float, float]
    orders_per_year: float
    lines_per_order: float
    pack_share: float
    packs: float
    segments: tuple[float, float, float]
    christmas: float
    returns: float
    return_days: float
    month_profile: str
    weekday_profile: str
    hour_profile: str
    uk_share: float
    regular: bool = False
    active: tuple[float, float] | None = None
    recent_days: int | None = None


ARCHETYPES: tuple[Archetype, ...] = (
    # Buys all year round, every five or six weeks, big baskets of premium products.
    Archetype(
        "loyal_high_value", share=0.10, start=(0.0, 0.25), orders_per_year=8.0,
        lines_per_order=15.0, pack_share=0.6, packs=1.2, segments=(0.10, 0.45, 0.45),
        christmas=1.0, returns=0.08, return_days=6, month_profile="soft",
        weekday_profile="workweek", hour_profile="office", uk_share=0.90, regular=True,
    ),
    # Orders a couple of cheap items every two or three weeks, in the evening, any day.
    Archetype(
        "frequent_low_basket", share=0.12, start=(0.0, 0.5), orders_per_year=20.0,
        lines_per_order=2.6, pack_share=0.1, packs=0.3, segments=(0.70, 0.27, 0.03),
        christmas=0.6, returns=0.04, return_days=3, month_profile="flat",
        weekday_profile="anyday", hour_profile="evening", uk_share=0.93, regular=True,
    ),
    # Shops for presents in October to December, at weekends; returns a lot in January.
    Archetype(
        "seasonal_gift_buyer", share=0.15, start=(0.0, 0.3), orders_per_year=2.2,
        lines_per_order=10.0, pack_share=0.3, packs=0.3, segments=(0.15, 0.45, 0.40),
        christmas=2.8, returns=0.22, return_days=18, month_profile="gift",
        weekday_profile="weekend", hour_profile="leisure", uk_share=0.93,
    ),
    # A single order at any time of the window.
    Archetype(
        "one_time_buyer", share=0.25, start=(0.0, 0.0), orders_per_year=0.0,
        lines_per_order=9.0, pack_share=0.4, packs=0.5, segments=(0.30, 0.50, 0.20),
        christmas=1.0, returns=0.10, return_days=6, month_profile="store",
        weekday_profile="workweek", hour_profile="mixed", uk_share=0.92,
    ),
    # Bought regularly for a few months early in the window, returned a lot, then stopped.
    Archetype(
        "lapsed", share=0.18, start=(0.0, 0.3), orders_per_year=12.0, lines_per_order=12.0,
        pack_share=0.5, packs=0.8, segments=(0.30, 0.50, 0.20), christmas=1.0,
        returns=0.20, return_days=8, month_profile="store", weekday_profile="workweek",
        hour_profile="office", uk_share=0.92, active=(0.12, 0.3),
    ),
    # Shops and resellers: large quantities of cheap items at trade prices, weekday mornings.
    Archetype(
        "wholesale", share=0.05, start=(0.0, 0.4), orders_per_year=9.0, lines_per_order=24.0,
        pack_share=1.0, packs=4.0, segments=(0.55, 0.40, 0.05), christmas=1.0,
        returns=0.15, return_days=4, month_profile="trade", weekday_profile="workweek",
        hour_profile="morning", uk_share=0.65, regular=True,
    ),
    # First order within the last three months.
    Archetype(
        "new_customer", share=0.15, start=(0.0, 0.0), orders_per_year=8.0,
        lines_per_order=10.0, pack_share=0.4, packs=0.5, segments=(0.30, 0.50, 0.20),
        christmas=1.0, returns=0.06, return_days=5, month_profile="store",
        weekday_profile="anyday", hour_profile="mixed", uk_share=0.92, recent_days=90,
    ),
)  # fmt: skip
ARCHETYPE_NAMES: tuple[str, ...] = tuple(a.name for a in ARCHETYPES)
ONE_TIME = ARCHETYPE_NAMES.index("one_time_buyer")
WHOLESALE = ARCHETYPE_NAMES.index("wholesale")
# Guest checkouts behave like one more (unnamed) archetype in the parameter arrays.
GUEST = len(ARCHETYPES)

# Wholesale customers that are whales, and how much bigger they are.
WHALE_SHARE = 0.03
WHALE_ORDERS = 5.0
WHALE_LINES = 1.8
WHALE_PACKS = 2.5

# Guest checkouts (no customer id): orders per customer-year and their line-count mixture.
GUEST_ORDERS_PER_CUSTOMER_YEAR = 0.7
GUEST_SINGLE_LINE_SHARE = 0.35
GUEST_BIG_SHARE = 0.15
GUEST_SMALL_LINES = 9.0
GUEST_BIG_LINES = 75.0
GUEST_PRICE_MARKUP = 1.17  # the web shop charges more than the trade price list
GUEST_SEGMENTS = (0.35, 0.45, 0.20)

# Rare events (per customer-year unless said otherwise).
STOCK_ADJUSTMENTS_PER_CUSTOMER_YEAR = 0.12
# Standalone fee and correction invoices: code -> (per customer-year, share that are
# cancellations 'C…' with quantity -1, typical amount in GBP).
FEES: dict[str, tuple[float, float, float]] = {
    "AMAZONFEE": (1 / 250, 0.9, 4000.0),
    "BANK CHARGES": (1 / 400, 0.5, 15.0),
    "CRUK": (1 / 600, 1.0, 400.0),
    "S": (1 / 250, 1.0, 20.0),
    "M": (1 / 40, 0.6, 30.0),
}
HUGE_ORDERS_PER_CUSTOMER = 1 / 4000  # mistaken huge orders, each reversed at once
MULTI_COUNTRY_SHARE = 0.001
DUPLICATE_LINE_SHARE = 0.008
ZERO_PRICE_SHARE = 0.0015
FULL_CANCELLATION_SHARE = 0.1

MONTH_PROFILES: dict[str, tuple[float, ...]] = {  # January .. December
    "store": (0.75, 0.65, 0.85, 0.75, 0.85, 0.85, 0.9, 0.85, 1.15, 1.35, 1.8, 1.1),
    "soft": (0.85, 0.8, 0.95, 0.85, 0.95, 0.95, 0.95, 0.9, 1.05, 1.15, 1.35, 1.05),
    "flat": (1.0, 0.95, 1.0, 1.0, 1.0, 0.95, 0.95, 0.95, 1.0, 1.05, 1.1, 1.05),
    "gift": (0.04, 0.03, 0.04, 0.04, 0.04, 0.04, 0.04, 0.06, 0.3, 1.6, 5.5, 3.0),
    "trade": (0.7, 0.6, 0.8, 0.8, 0.85, 0.9, 1.0, 1.05, 1.35, 1.45, 1.5, 0.7),
}
WEEKDAY_PROFILES: dict[str, tuple[float, ...]] = {  # Monday .. Sunday
    "workweek": (1.0, 1.1, 1.15, 1.1, 0.9, 0.05, 0.4),
    "anyday": (1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 1.1),
    "weekend": (0.55, 0.55, 0.6, 0.6, 0.8, 1.6, 1.7),
}
HOUR_PROFILES: dict[str, dict[int, float]] = {  # hour of day -> weight
    "office": {7: 1, 8: 8, 9: 25, 10: 35, 11: 40, 12: 50, 13: 45, 14: 42, 15: 45, 16: 30,
               17: 12, 18: 4, 19: 2},
    "morning": {7: 3, 8: 22, 9: 40, 10: 45, 11: 35, 12: 25, 13: 20, 14: 15, 15: 12, 16: 6,
                17: 2},
    "evening": {8: 1, 9: 2, 10: 3, 11: 4, 12: 7, 13: 6, 14: 4, 15: 4, 16: 5, 17: 10, 18: 25,
                19: 35, 20: 40, 21: 30, 22: 12},
    "leisure": {9: 4, 10: 10, 11: 20, 12: 25, 13: 25, 14: 25, 15: 25, 16: 20, 17: 18, 18: 20,
                19: 25, 20: 25, 21: 15, 22: 5},
    "mixed": {8: 5, 9: 15, 10: 25, 11: 30, 12: 35, 13: 32, 14: 30, 15: 30, 16: 22, 17: 14,
              18: 12, 19: 14, 20: 12, 21: 7, 22: 2},
}  # fmt: skip
GUEST_PROFILES = ("store", "anyday", "mixed")
# Share of lines that are Christmas products, by month (scaled by the archetype's affinity).
CHRISTMAS_BY_MONTH = (0.01, 0.0, 0.0, 0.0, 0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.28, 0.22)

# Country -> relative share among customers outside the United Kingdom, and postage zone.
UNITED_KINGDOM = "United Kingdom"
FOREIGN_COUNTRIES: dict[str, tuple[float, str]] = {
    "Germany": (95, "eu"), "France": (88, "eu"), "Spain": (30, "eu"), "Belgium": (25, "eu"),
    "Switzerland": (21, "eu"), "Portugal": (19, "eu"), "Italy": (15, "eu"),
    "Finland": (12, "eu"), "Austria": (11, "eu"), "Norway": (10, "eu"),
    "Netherlands": (9, "eu"), "Australia": (9, "world"), "Denmark": (9, "eu"),
    "Channel Islands": (9, "carriage"), "Sweden": (8, "eu"), "Cyprus": (8, "eu"),
    "Japan": (8, "world"), "Poland": (6, "eu"), "USA": (4, "world"), "Canada": (4, "world"),
    "Greece": (4, "eu"), "Israel": (4, "world"), "EIRE": (3, "carriage"),
    "Unspecified": (4, "eu"), "Iceland": (1, "eu"), "Malta": (2, "eu"),
    "United Arab Emirates": (2, "world"), "European Community": (1, "eu"), "RSA": (1, "world"),
    "Lebanon": (1, "world"), "Lithuania": (1, "eu"), "Brazil": (1, "world"),
    "Czech Republic": (1, "eu"), "Bahrain": (2, "world"), "Saudi Arabia": (1, "world"),
    "Singapore": (1, "world"), "Hong Kong": (1, "world"),
}  # fmt: skip
# Wholesalers abroad are over-represented in a few countries.
WHOLESALE_COUNTRY_BOOST = {"EIRE": 12.0, "Netherlands": 3.0, "Australia": 2.0}
GUEST_COUNTRIES = {UNITED_KINGDOM: 0.975, "EIRE": 0.008, "Hong Kong": 0.004,
                   "Unspecified": 0.004, "France": 0.003, "Switzerland": 0.003,
                   "Germany": 0.003}  # fmt: skip
POSTAGE_PRICES = {"eu": (15.0, 18.0, 18.0, 18.0, 28.0), "world": (28.0, 40.0, 40.0)}
CARRIAGE_PRICE = 50.0


# --------------------------------------------------------------------------------------------
# Product catalogue vocabulary (invented names in the style of a UK gift wholesaler)
# --------------------------------------------------------------------------------------------

# item -> (typical price in GBP, pack sizes, is a Christmas product)
ITEMS: dict[str, tuple[float, tuple[int, ...], bool]] = {
    "LUNCH BOX": (1.95, (1, 6, 12), False), "LUNCH BAG": (1.65, (10,), False),
    "JUMBO BAG": (1.95, (10,), False), "SHOPPER BAG": (1.25, (10,), False),
    "CHARLOTTE BAG": (0.85, (10,), False), "CAKE CASES": (0.55, (24,), False),
    "PAPER NAPKINS": (0.85, (12,), False), "PAPER PLATES": (0.85, (12,), False),
    "PAPER CUPS": (0.65, (12,), False), "MUG": (1.25, (6, 12), False),
    "TEA CUP AND SAUCER": (2.95, (1, 6), False), "TEAPOT": (4.95, (1, 2), False),
    "CAKE STAND": (9.95, (1, 2), False), "CAKE TIN": (4.95, (1, 3), False),
    "STORAGE JAR": (2.95, (1, 6), False), "BAKING SET": (4.95, (1, 3), False),
    "COOKIE CUTTER": (1.25, (12,), False), "TEA TOWEL": (1.25, (12,), False),
    "APRON": (2.95, (3, 6), False), "OVEN GLOVE": (1.45, (10,), False),
    "DOORSTOP": (4.25, (1, 4), False), "DOOR MAT": (7.95, (1, 2), False),
    "METAL SIGN": (2.1, (12,), False), "WALL CLOCK": (8.5, (1, 2), False),
    "ALARM CLOCK": (3.75, (1, 4), False), "PHOTO FRAME": (2.55, (1, 6, 12), False),
    "CUSHION COVER": (3.75, (1, 4), False), "HOT WATER BOTTLE": (4.25, (1, 4), False),
    "HAND WARMER": (2.1, (12,), False), "COAT HANGER": (2.75, (1, 8), False),
    "LANTERN": (3.75, (1, 6), False), "T-LIGHT HOLDER": (2.55, (6, 12), False),
    "CANDLE": (1.25, (12, 24), False), "TEALIGHTS": (0.42, (24,), False),
    "DRAWER KNOB": (1.25, (12,), False), "WALL HOOK": (0.85, (12,), False),
    "CHALKBOARD": (3.75, (1, 4), False), "MEMO BOARD": (4.95, (1, 2), False),
    "NOTEBOOK": (1.65, (12,), False), "PENCILS": (0.29, (48,), False),
    "STICKERS": (0.85, (12,), False), "GIFT TAGS": (0.42, (12,), False),
    "WRAPPING PAPER": (0.42, (25,), False), "GREETING CARD": (0.42, (12,), False),
    "PARTY BUNTING": (4.95, (1, 4), False), "PAPER GARLAND": (1.65, (12,), False),
    "BALLOONS": (0.85, (24,), False), "PLASTERS IN TIN": (1.65, (12,), False),
    "PURSE": (2.55, (6,), False), "KEYRING": (0.85, (12,), False),
    "BRACELET": (1.25, (12,), False), "NECKLACE": (2.95, (1, 4), False),
    "HAIR CLIP": (0.85, (12,), False), "BADGE": (0.29, (24,), False),
    "FRIDGE MAGNET": (0.85, (12,), False), "PASSPORT COVER": (2.1, (6,), False),
    "UMBRELLA": (5.95, (1, 3), False), "PARASOL": (2.95, (6,), False),
    "WATER BOTTLE": (3.75, (6,), False), "PICNIC BASKET": (8.5, (1,), False),
    "BIRD HOUSE": (4.95, (1, 2), False), "PLANT POT": (1.65, (12,), False),
    "WATERING CAN": (2.95, (6,), False), "WALL MIRROR": (9.95, (1,), False),
    "CABINET": (24.95, (1,), False), "CHEST OF DRAWERS": (39.95, (1,), False),
    "TRINKET BOX": (1.25, (12,), False), "JEWELLERY BOX": (6.35, (1, 2), False),
    "NESTING BOXES": (7.65, (1, 2), False), "SERVING TRAY": (4.95, (1, 4), False),
    "BOWL": (1.25, (6, 12), False), "VASE": (3.35, (1, 6), False),
    "JIGSAW": (2.95, (1, 6), False), "PLAYING CARDS": (1.25, (12,), False),
    "RAG DOLL": (3.75, (1, 4), False), "SKIPPING ROPE": (1.45, (12,), False),
    "SEWING KIT": (2.95, (1, 6), False), "SOAP DISH": (1.65, (6, 12), False),
    "TREE DECORATION": (0.85, (12, 24), True), "HANGING BAUBLE": (1.25, (6, 12), True),
    "ADVENT CALENDAR": (2.95, (1, 6), True), "CRACKERS": (4.95, (1, 4), True),
    "STOCKING": (3.75, (1, 4), True), "PAPER CHAIN KIT": (2.95, (1, 6), True),
    "GIFT WRAP": (0.42, (25,), True), "CARD": (0.42, (12,), True),
    "STAR GARLAND": (1.65, (12,), True), "DOOR HANGER": (1.25, (12,), True),
    "WREATH": (5.95, (1, 2), True), "SNOW GLOBE": (3.75, (1, 6), True),
    "FAIRY LIGHTS": (6.95, (1, 2), True), "TABLE RUNNER": (4.25, (1, 4), True),
}  # fmt: skip
COLOURS = ("RED", "BLUE", "PINK", "GREEN", "WHITE", "IVORY", "CREAM", "BLACK", "SILVER",
           "GOLD", "PURPLE", "ORANGE", "YELLOW", "LILAC", "TURQUOISE", "NATURAL", "GREY",
           "BROWN", "PASTEL", "ASSORTED")  # fmt: skip
THEMES = ("RETROSPOT", "POLKADOT", "SPOTTY", "STRIPES", "FLORAL", "PAISLEY", "GINGHAM",
          "VINTAGE DOILY", "VINTAGE LEAF", "ROSE", "HEART", "STAR", "BIRD", "OWL",
          "BUTTERFLY", "UNION JACK", "WOODLAND", "PARISIENNE", "LONDON BUS", "CIRCUS PARADE",
          "DOLLY GIRL", "SPACEBOY", "PANTRY", "REGENCY", "BAROQUE", "MOROCCAN", "ENGLISH ROSE",
          "SKULLS", "DINOSAUR", "JUNGLE", "SEASIDE", "GARDEN", "FAIRY CAKE", "TEA PARTY",
          "RETRO", "SCANDINAVIAN", "LACE", "ANTIQUE", "RUSTIC", "CHERRY BLOSSOM")  # fmt: skip
CHRISTMAS_THEMES = ("CHRISTMAS", "SANTA", "REINDEER", "SNOWFLAKE", "FESTIVE", "NORDIC",
                    "ANGEL", "ROBIN", "NATIVITY", "GINGERBREAD", "HOLLY")  # fmt: skip
# prefix -> price multiplier
PREFIXES = {"SMALL": 0.7, "LARGE": 1.3, "MINI": 0.55, "SET OF 3": 1.8, "SET/6": 2.4}
PRICE_LEVEL = 0.95  # scales every typical price above
VARIANT_SHARE = 0.15
ALTERED_DESCRIPTION_SHARE = 0.02
TRAILING_SPACE_SHARE = 0.03
LATE_LAUNCH_SHARE = 0.25
PRICE_RISE_SHARE = 0.3

# Non-product stock codes -> description (kept in the real log's mixed case).
NON_PRODUCTS: dict[str, str] = {
    "POST": "POSTAGE",
    "DOT": "DOTCOM POSTAGE",
    "C2": "CARRIAGE",
    "M": "Manual",
    "D": "Discount",
    "S": "SAMPLES",
    "BANK CHARGES": "Bank Charges",
    "AMAZONFEE": "AMAZON FEE",
    "CRUK": "CRUK Commission",
    "B": "Adjust bad debt",
}
GIFT_VOUCHER_VALUES = (10, 20, 30, 40, 50)
VAT_RATE = 0.2
STOCK_NOTES = ("damaged", "check", "?", "thrown away", "wet", "missing", "broken",
               "stock count", "found")  # fmt: skip

# Header kinds (one header = one invoice number).
PURCHASE, RETURN, GUEST_ORDER, HUGE, HUGE_CANCEL, STOCK_ADJUSTMENT, FEE, BAD_DEBT = range(8)
PREFIXES_BY_CODE = ("", "C", "A")


# --------------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    """Days of the window and, per archetype, the cumulative daily order density."""

    start: dt.date
    n_days: int
    month: np.ndarray  # 1..12 per day
    is_open: np.ndarray  # False over the Christmas closure
    next_open: np.ndarray  # first open day >= d (or d itself when none is left)
    previous_open: np.ndarray  # last open day <= d (or d itself when there is none)
    cumulative: np.ndarray  # (archetypes + guest, n_days + 1)
    hour_cdf: np.ndarray  # (archetypes + guest, 24)

    @property
    def years(self) -> float:
        return self.n_days / 365.25


def _normalised(values: tuple[float, ...]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array / array.mean()


def _hour_weights(profile: str) -> np.ndarray:
    weights = np.zeros(24)
    for hour, weight in HOUR_PROFILES[profile].items():
        weights[hour] = weight
    return weights / weights.sum()


def _build_calendar(config: DemoConfig) -> _Calendar:
    start = config.start_date
    n_days = (config.end_date - start).days + 1
    days = np.datetime64(start, "D") + np.arange(n_days)
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day_of_month = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    closed = ((month == 12) & (day_of_month >= 24)) | ((month == 1) & (day_of_month <= 3))
    is_open = ~closed if closed.mean() < 0.5 else np.ones(n_days, dtype=bool)
    open_days = np.flatnonzero(is_open)
    next_open = np.arange(n_days)
    position = np.searchsorted(open_days, next_open, side="left")
    has_next = position < open_days.size
    next_open[has_next] = open_days[position[has_next]]
    previous_open = np.arange(n_days)
    position = np.searchsorted(open_days, previous_open, side="right") - 1
    has_previous = position >= 0
    previous_open[has_previous] = open_days[position[has_previous]]

    profiles = [(a.month_profile, a.weekday_profile, a.hour_profile) for a in ARCHETYPES]
    profiles.append(GUEST_PROFILES)
    cumulative = np.zeros((len(profiles), n_days + 1))
    hour_cdf = np.zeros((len(profiles), 24))
    for row, (month_profile, weekday_profile, hour_profile) in enumerate(profiles):
        density = (
            _normalised(MONTH_PROFILES[month_profile])[month - 1]
            * _normalised(WEEKDAY_PROFILES[weekday_profile])[weekday]
            * is_open
        )
        cumulative[row, 1:] = np.cumsum(density)
        hour_cdf[row] = np.cumsum(_hour_weights(hour_profile))
    hour_cdf[:, -1] = 1.0
    return _Calendar(start, n_days, month, is_open, next_open, previous_open, cumulative, hour_cdf)


def _sample_days(
    calendar: _Calendar, profile: np.ndarray, first: np.ndarray, last: np.ndarray, u: np.ndarray
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


def _sample_minutes(
    calendar: _Calendar, profile: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Minute of the day from each row's hour profile."""
    u = rng.random(profile.size)
    hours = np.empty(profile.size, dtype=np.int64)
    for row in np.unique(profile):
        mask = profile == row
        hours[mask] = np.searchsorted(calendar.hour_cdf[row], u[mask], side="right")
    return np.minimum(hours, 23) * 60 + rng.integers(0, 60, profile.size)


# --------------------------------------------------------------------------------------------
# Catalogue
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Catalogue:
    """Products plus the text tables that lines index into.

    ``codes`` and ``descriptions`` hold the products first, then the non-product codes, then
    the gift vouchers; ``descriptions`` continues with the altered product descriptions and
    the stock-adjustment notes.
    """

    codes: pa.Array
    descriptions: pa.Array
    price: np.ndarray  # list price per product
    pack: np.ndarray
    launch_day: np.ndarray
    price_rise: np.ndarray  # factor applied from the price-change day on (1 for most)
    altered: np.ndarray  # bool: description changes on the price-change day
    segment_products: tuple[np.ndarray, ...]  # product ids per segment, by launch day
    segment_cumulative: tuple[np.ndarray, ...]  # cumulative popularity in that order
    segment_available: np.ndarray  # (segments, n_days): products launched by that day
    price_change_day: int

    @property
    def n_products(self) -> int:
        return self.price.size

    def non_product(self, code: str) -> int:
        return self.n_products + list(NON_PRODUCTS).index(code)

    def gift_voucher(self, position: np.ndarray) -> np.ndarray:
        return self.n_products + len(NON_PRODUCTS) + position

    @property
    def altered_offset(self) -> int:
        return self.n_products + len(NON_PRODUCTS) + len(GIFT_VOUCHER_VALUES)

    @property
    def notes_offset(self) -> int:
        return self.altered_offset + self.n_products


def _price_points() -> np.ndarray:
    """Prices a shop would print: 0.42, 0.85, 1.25, 2.55, 4.95, 12.75, 39.95, …"""
    points = [0.12, 0.14, 0.19, 0.21, 0.25, 0.29, 0.36, 0.39, 0.42, 0.55, 0.59, 0.65, 0.72,
              0.79, 0.83, 0.85]  # fmt: skip
    for pounds in range(1, 10):
        points += [pounds + c for c in (0.1, 0.25, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95)]
    for pounds in range(10, 50):
        points += [pounds + c for c in (0.5, 0.75, 0.95)]
    for pounds in range(50, 2000, 5):
        points += [pounds + 0.0, pounds + 4.95]
    return np.round(np.array(sorted(points)), 2)


PRICE_POINTS = _price_points()


def _snap_prices(prices: np.ndarray) -> np.ndarray:
    """Nearest printed price point (prices below the first point snap up to it)."""
    right = np.clip(np.searchsorted(PRICE_POINTS, prices), 1, PRICE_POINTS.size - 1)
    left = right - 1
    nearer_left = np.abs(prices - PRICE_POINTS[left]) <= np.abs(PRICE_POINTS[right] - prices)
    return PRICE_POINTS[np.where(nearer_left, left, right)]


def _stock_code_bases(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct five-digit stock codes, most in the 20000s like the real catalogue."""
    pools = (np.arange(20600, 24000), np.arange(84000, 85300), np.arange(10000, 90000, 7))
    shares = (0.7, 0.2, 0.1)
    chosen: list[np.ndarray] = []
    for pool, share in zip(pools, shares, strict=True):
        size = min(pool.size, int(round(n * share)) + 1)
        chosen.append(rng.choice(pool, size=size, replace=False))
    codes = np.unique(np.concatenate(chosen))
    return rng.permutation(codes)[:n]


def _describe(
    rng: np.random.Generator, item: str, christmas: bool, plain: bool
) -> tuple[str, float]:
    """One product description and its price multiplier (``plain``: theme and item only)."""
    themes = CHRISTMAS_THEMES if christmas else THEMES
    theme = themes[rng.integers(len(themes))]
    colour = COLOURS[rng.integers(len(COLOURS))]
    template = 3 if plain else rng.integers(4)
    if template == 0:
        return f"{colour} {theme} {item}", 1.0
    if template == 1:
        return f"{item} {colour} {theme}", 1.0
    if template == 2:
        prefix = list(PREFIXES)[rng.integers(len(PREFIXES))]
        return f"{prefix} {theme} {item}", PREFIXES[prefix]
    return f"{theme} {item}", 1.0


def _build_catalogue(config: DemoConfig, calendar: _Calendar) -> _Catalogue:
    """A few thousand products with codes, descriptions, prices, packs and popularity."""
    rng = np.random.default_rng([config.seed, 0, 0])
    n_designs = 3000
    item_names = list(ITEMS)
    bases = _stock_code_bases(rng, n_designs)
    codes: list[str] = []
    descriptions: list[str] = []
    prices: list[float] = []
    packs: list[int] = []
    is_christmas: list[bool] = []
    seen: set[str] = set()
    typical_prices = np.array([ITEMS[name][0] for name in item_names])
    item_weights = np.where(typical_prices >= 8, 0.3, 1.0)
    item_draws = rng.choice(len(item_names), size=bases.size, p=item_weights / item_weights.sum())
    for base, item_index in zip(bases, item_draws, strict=True):
        item = item_names[item_index]
        typical, pack_choices, christmas = ITEMS[item]
        family = rng.random() < VARIANT_SHARE
        multiplier = 1.0
        description = ""
        for _ in range(20):  # retry until the description is new
            description, multiplier = _describe(rng, item, christmas, plain=family)
            if description not in seen:
                break
        price = typical * multiplier * rng.lognormal(np.log(PRICE_LEVEL), 0.3)
        pack = int(pack_choices[rng.integers(len(pack_choices))])
        if multiplier > 1.5:
            pack = 1 if pack < 6 else pack // 3
        if family:
            # A family of variants: 85123A, 85123B, … differing only in colour.
            colours = rng.choice(len(COLOURS), size=int(rng.integers(2, 6)), replace=False)
            variants = [f"{COLOURS[c]} {description}" for c in colours]
            for letter, variant in zip("ABCDEFG", variants, strict=False):
                codes.append(f"{base}{letter}")
                descriptions.append(variant)
                prices.append(price)
                packs.append(pack)
                is_christmas.append(christmas)
            seen.update(variants)
        else:
            codes.append(str(base))
            descriptions.append(description)
            prices.append(price)
            packs.append(pack)
            is_christmas.append(christmas)
            seen.add(description)

    n = len(codes)
    price = _snap_prices(np.asarray(prices))
    pack = np.maximum(np.asarray(packs, dtype=np.int64), 1)
    christmas = np.asarray(is_christmas)
    late = rng.random(n) < LATE_LAUNCH_SHARE
    launch_day = np.where(late, rng.integers(0, calendar.n_days, n), 0)
    price_rise = np.where(rng.random(n) < PRICE_RISE_SHARE, rng.uniform(1.04, 1.12, n), 1.0)
    altered = rng.random(n) < ALTERED_DESCRIPTION_SHARE
    trailing = rng.random(n) < TRAILING_SPACE_SHARE
    descriptions = [d + " " if t else d for d, t in zip(descriptions, trailing, strict=True)]
    altered_text = [
        (d.rstrip() + " " + COLOURS[i % len(COLOURS)]) if a else d
        for i, (d, a) in enumerate(zip(descriptions, altered, strict=True))
    ]
    popularity = rng.lognormal(0.0, 1.0, n)

    segment = np.where(price < 1.0, 0, np.where(price >= 4.5, 2, 1))
    segment[christmas] = 3
    segment_products: list[np.ndarray] = []
    segment_cumulative: list[np.ndarray] = []
    segment_available = np.zeros((4, calendar.n_days), dtype=np.int64)
    for s in range(4):
        members = np.flatnonzero(segment == s)
        if members.size == 0:  # cannot happen with the vocabulary above; keep sampling safe
            members = np.array([int(np.argmin(np.abs(price - np.median(price))))])
        members = members[np.argsort(launch_day[members], kind="stable")]
        launch_day[members[0]] = 0  # every segment sells something from the first day
        segment_products.append(members)
        segment_cumulative.append(np.cumsum(popularity[members]))
        segment_available[s] = np.searchsorted(
            launch_day[members], np.arange(calendar.n_days), side="right"
        )

    gift_codes = [f"gift_0001_{v}" for v in GIFT_VOUCHER_VALUES]
    gift_texts = [f"Dotcomgiftshop Gift Voucher £{v}.00" for v in GIFT_VOUCHER_VALUES]
    all_codes = codes + list(NON_PRODUCTS) + gift_codes
    all_texts = descriptions + list(NON_PRODUCTS.values()) + gift_texts + altered_text
    all_texts += list(STOCK_NOTES)
    return _Catalogue(
        codes=pa.array(all_codes, type=pa.string()),
        descriptions=pa.array(all_texts, type=pa.string()),
        price=price,
        pack=pack,
        launch_day=launch_day,
        price_rise=price_rise,
        altered=altered,
        segment_products=tuple(segment_products),
        segment_cumulative=tuple(segment_cumulative),
        segment_available=segment_available,
        price_change_day=calendar.n_days // 2,
    )


# --------------------------------------------------------------------------------------------
# Per-chunk generation: customers and invoice headers (pass 1), then lines (pass 2)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    config: DemoConfig
    calendar: _Calendar
    catalogue: _Catalogue
    countries: pa.Array
    foreign: np.ndarray  # country ids outside the UK
    foreign_weights: np.ndarray  # (2, foreign): retail and wholesale shares
    zone: np.ndarray  # per country: 0 eu, 1 world, 2 carriage
    guest_countries: np.ndarray
    guest_weights: np.ndarray

    @property
    def n_chunks(self) -> int:
        return -(-self.config.customers // CHUNK_CUSTOMERS)

    def chunk_customers(self, chunk: int) -> tuple[int, int]:
        first = chunk * CHUNK_CUSTOMERS
        return first, min(CHUNK_CUSTOMERS, self.config.customers - first)


def _build_context(config: DemoConfig) -> _Context:
    calendar = _build_calendar(config)
    names = [UNITED_KINGDOM, *FOREIGN_COUNTRIES]
    shares = np.array([share for share, _ in FOREIGN_COUNTRIES.values()])
    boost = np.array([WHOLESALE_COUNTRY_BOOST.get(name, 1.0) for name in FOREIGN_COUNTRIES])
    zones = {"eu": 0, "world": 1, "carriage": 2}
    zone = np.array([0] + [zones[z] for _, z in FOREIGN_COUNTRIES.values()])
    return _Context(
        config=config,
        calendar=calendar,
        catalogue=_build_catalogue(config, calendar),
        countries=pa.array(names, type=pa.string()),
        foreign=np.arange(1, len(names)),
        foreign_weights=np.vstack([shares / shares.sum(), shares * boost / (shares @ boost)]),
        zone=zone,
        guest_countries=np.array([names.index(c) for c in GUEST_COUNTRIES]),
        guest_weights=np.array(list(GUEST_COUNTRIES.values())) / sum(GUEST_COUNTRIES.values()),
    )


def _param(name: str, guest: float) -> np.ndarray:
    """One archetype attribute as an array indexed by archetype code (guest last)."""
    return np.array([getattr(a, name) for a in ARCHETYPES] + [guest], dtype=float)


LINES_PER_ORDER = _param("lines_per_order", 0.0)
PACKS = _param("packs", 0.3)
PACK_SHARE = _param("pack_share", 0.15)
CHRISTMAS_AFFINITY = _param("christmas", 1.0)
RETURN_RATE = _param("returns", 0.0)
RETURN_DAYS = _param("return_days", 1.0)
SEGMENT_CDF = np.cumsum(np.array([a.segments for a in ARCHETYPES] + [GUEST_SEGMENTS]), axis=1)


@dataclass(frozen=True)
class _Customers:
    archetype: np.ndarray
    whale: np.ndarray
    country: np.ndarray
    ids: pa.Array


@dataclass
class _Headers:
    """One row per invoice number of a chunk (numpy arrays of equal length)."""

    kind: np.ndarray
    customer: np.ndarray  # chunk-local customer index, -1 without customer
    profile: np.ndarray  # archetype code (GUEST for rows without customer)
    day: np.ndarray
    minute: np.ndarray
    country: np.ndarray
    n_lines: np.ndarray
    parent: np.ndarray  # header index of the order a cancellation reverses, else -1
    prefix: np.ndarray  # index into PREFIXES_BY_CODE
    detail: np.ndarray  # fee code position or bad-debt sign; 0 otherwise

    @staticmethod
    def concat(parts: list[_Headers]) -> _Headers:
        return _Headers(
            **{
                name: np.concatenate([getattr(p, name) for p in parts]).astype(np.int64)
                for name in _Headers.__dataclass_fields__
            }
        )

    def __len__(self) -> int:
        return self.kind.size


def _headers(kind: int, n: int, **columns: np.ndarray | int) -> _Headers:
    values = {name: np.zeros(n, dtype=np.int64) for name in _Headers.__dataclass_fields__}
    values["kind"][:] = kind
    values["customer"][:] = -1
    values["profile"][:] = GUEST
    values["parent"][:] = -1
    values["n_lines"][:] = 1
    for name, value in columns.items():
        values[name][:] = value
    return _Headers(**values)


def _group_positions(counts: np.ndarray) -> np.ndarray:
    """0, 1, …, n-1 within each consecutive group of the given sizes."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total) - np.repeat(starts, counts)


def _allocate(shares: np.ndarray, n: int) -> np.ndarray:
    """Integer counts proportional to shares that sum to n (largest remainder)."""
    exact = shares / shares.sum() * n
    counts = np.floor(exact).astype(np.int64)
    remainder = n - counts.sum()
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:remainder]] += 1
    return counts


def _plan_customers(ctx: _Context, chunk: int, rng: np.random.Generator) -> _Customers:
    first, n = ctx.chunk_customers(chunk)
    shares = np.array([a.share for a in ARCHETYPES])
    archetype = rng.permutation(np.repeat(np.arange(len(ARCHETYPES)), _allocate(shares, n)))
    whale = (archetype == WHOLESALE) & (rng.random(n) < WHALE_SHARE)
    uk_share = np.array([a.uk_share for a in ARCHETYPES])[archetype]
    is_uk = rng.random(n) < uk_share
    retail = rng.choice(ctx.foreign, size=n, p=ctx.foreign_weights[0])
    trade = rng.choice(ctx.foreign, size=n, p=ctx.foreign_weights[1])
    country = np.where(is_uk, 0, np.where(archetype == WHOLESALE, trade, retail))
    ids = pc.cast(pa.array(np.arange(first, first + n) + FIRST_CUSTOMER_ID), pa.string())
    return _Customers(archetype, whale, country, ids)


def _plan_purchases(
    ctx: _Context, customers: _Customers, chunk: int, rng: np.random.Generator
) -> _Headers:
    """Each customer's orders: when, how many lines, from which country."""
    cal = ctx.calendar
    n_days = cal.n_days
    archetype = customers.archetype
    n = archetype.size
    start_low = np.array([a.start[0] for a in ARCHETYPES])[archetype]
    start_high = np.array([a.start[1] for a in ARCHETYPES])[archetype]
    first = np.floor((start_low + (start_high - start_low) * rng.random(n)) * (n_days - 1))
    first = first.astype(np.int64)
    last = np.full(n, n_days - 1, dtype=np.int64)
    active_draw = rng.random(n)
    recent_draw = rng.integers(0, 1 << 30, n)
    for code, spec in enumerate(ARCHETYPES):
        mask = archetype == code
        if spec.active is not None:
            span = spec.active[0] + (spec.active[1] - spec.active[0]) * active_draw[mask]
            last[mask] = np.minimum(first[mask] + np.floor(span * n_days), n_days - 1)
        if spec.recent_days is not None:
            recent = min(spec.recent_days, n_days)
            first[mask] = n_days - 1 - recent_draw[mask] % recent
    # A window inside the Christmas closure reaches back to the last open day.
    first = np.minimum(first, cal.previous_open[last])

    rate = _param("orders_per_year", 0.0)[archetype] * np.where(customers.whale, WHALE_ORDERS, 1)
    mass = cal.cumulative[archetype, last + 1] - cal.cumulative[archetype, first]
    n_orders = np.where(rate > 0, 1 + rng.poisson(rate * mass / 365.25), 1)
    one_time = np.flatnonzero(archetype == ONE_TIME)
    if chunk == 0 and one_time.size:
        # Like the real log's customer 12346: a whole history that is one huge order and
        # its cancellation (added with the other huge orders).
        n_orders[one_time[0]] = 0

    customer = np.repeat(np.arange(n), n_orders)
    position = _group_positions(n_orders)
    total = n_orders[customer]
    regular = np.array([a.regular for a in ARCHETYPES])[archetype[customer]]
    u = np.where(regular, (position + rng.random(customer.size)) / total, rng.random(total.size))
    profile = archetype[customer]
    day = _sample_days(cal, profile, first[customer], last[customer], u)
    order = np.lexsort((day, customer))
    customer, day, profile = customer[order], day[order], profile[order]
    minute = _sample_minutes(cal, profile, rng)

    mean_lines = LINES_PER_ORDER[profile] * np.where(customers.whale[customer], WHALE_LINES, 1)
    n_lines = 1 + _negative_binomial(rng, mean_lines - 1, 1.5)

    country = customers.country[customer].copy()
    movers = _multi_country_customers(customers, n_orders, chunk, rng)
    if movers.size:
        second = rng.choice(ctx.foreign, size=movers.size, p=ctx.foreign_weights[0])
        n_foreign = ctx.foreign.size
        second = np.where(second == customers.country[movers], 1 + second % n_foreign, second)
        lookup = np.full(n, -1)
        lookup[movers] = second
        moved = (lookup[customer] >= 0) & (position >= (n_orders[customer] + 1) // 2)
        country[moved] = lookup[customer][moved]
    return _headers(
        PURCHASE,
        customer.size,
        customer=customer,
        profile=profile,
        day=day,
        minute=minute,
        country=country,
        n_lines=n_lines,
    )


def _negative_binomial(rng: np.random.Generator, mean: np.ndarray, shape: float) -> np.ndarray:
    """Over-dispersed counts with the given means (0 where the mean is 0)."""
    mean = np.maximum(mean, 0.0)
    return rng.negative_binomial(shape, shape / (shape + mean))


def _multi_country_customers(
    customers: _Customers, n_orders: np.ndarray, chunk: int, rng: np.random.Generator
) -> np.ndarray:
    """A handful of customers seen in a second country (at least one in the first chunk)."""
    candidates = np.flatnonzero((n_orders >= 2) & (customers.country != 0))
    if candidates.size == 0:
        candidates = np.flatnonzero(n_orders >= 2)
    wanted = rng.binomial(customers.archetype.size, MULTI_COUNTRY_SHARE)
    if chunk == 0:
        wanted = max(wanted, 1)
    wanted = min(wanted, candidates.size)
    return np.sort(rng.choice(candidates, size=wanted, replace=False))


def _plan_returns(ctx: _Context, purchases: _Headers, rng: np.random.Generator) -> _Headers:
    """Cancellation invoices ('C…') reversing some lines of earlier orders."""
    cal = ctx.calendar
    profile = purchases.profile
    returned = np.flatnonzero(rng.random(len(purchases)) < RETURN_RATE[profile])
    parent_day = purchases.day[returned]
    same_day = rng.random(returned.size) < 0.35
    mean_delay = RETURN_DAYS[profile[returned]]
    delay = np.where(same_day, 0, rng.geometric(1 / np.maximum(mean_delay, 1.0)))
    day = cal.next_open[np.minimum(parent_day + delay, cal.n_days - 1)]
    day = np.where(cal.is_open[day], day, parent_day)  # no open day left: the same day
    parent_minute = purchases.minute[returned]
    later = np.minimum(parent_minute + rng.integers(2, 180, returned.size), 24 * 60 - 1)
    own_minute = _sample_minutes(cal, profile[returned], rng)
    minute = np.where(day == parent_day, later, own_minute)
    parent_lines = purchases.n_lines[returned]
    k = np.minimum(rng.geometric(0.55, returned.size), parent_lines)
    k = np.where(rng.random(returned.size) < FULL_CANCELLATION_SHARE, parent_lines, k)
    return _headers(
        RETURN,
        returned.size,
        customer=purchases.customer[returned],
        profile=profile[returned],
        day=day,
        minute=minute,
        country=purchases.country[returned],
        n_lines=k,
        parent=returned,
        prefix=1,
    )


def _plan_guests(ctx: _Context, n_customers: int, rng: np.random.Generator) -> _Headers:
    """Guest checkouts: orders without a customer id, mostly from the UK web shop."""
    cal = ctx.calendar
    n = rng.poisson(n_customers * GUEST_ORDERS_PER_CUSTOMER_YEAR * cal.years)
    profile = np.full(n, GUEST)
    day = _sample_days(cal, profile, np.zeros(n, np.int64), np.full(n, cal.n_days - 1),
                       rng.random(n))  # fmt: skip
    minute = _sample_minutes(cal, profile, rng)
    kind = rng.random(n)
    small = 1 + _negative_binomial(rng, np.full(n, GUEST_SMALL_LINES - 1), 1.5)
    big = 1 + _negative_binomial(rng, np.full(n, GUEST_BIG_LINES - 1), 2.0)
    n_lines = np.where(
        kind < GUEST_SINGLE_LINE_SHARE, 1, np.where(kind < 1 - GUEST_BIG_SHARE, small, big)
    )
    country = rng.choice(ctx.guest_countries, size=n, p=ctx.guest_weights)
    return _headers(GUEST_ORDER, n, day=day, minute=minute, country=country, n_lines=n_lines)


def _plan_events(
    ctx: _Context, customers: _Customers, chunk: int, rng: np.random.Generator
) -> list[_Headers]:
    """Rare one-line invoices: huge mistaken orders, stock adjustments, fees, bad debt."""
    cal = ctx.calendar
    n_customers = customers.archetype.size
    store = np.full(1, GUEST)
    parts: list[_Headers] = []

    def some_days(n: int) -> tuple[np.ndarray, np.ndarray]:
        profile = np.repeat(store, n)
        first, last = np.zeros(n, np.int64), np.full(n, cal.n_days - 1)
        days = _sample_days(cal, profile, first, last, rng.random(n))
        return days, 8 * 60 + rng.integers(0, 9 * 60, n)

    # Mistaken huge orders, each cancelled minutes later by a matching negative line.
    n_huge = rng.binomial(n_customers, HUGE_ORDERS_PER_CUSTOMER)
    huge_customers = rng.integers(0, n_customers, n_huge)
    one_time = np.flatnonzero(customers.archetype == ONE_TIME)
    if chunk == 0:
        first_customer = one_time[:1] if one_time.size else np.zeros(1, np.int64)
        huge_customers = np.concatenate([first_customer, huge_customers])
    n_huge = huge_customers.size
    if n_huge:
        day, minute = some_days(n_huge)
        country = customers.country[huge_customers]
        profile = customers.archetype[huge_customers]
        common = dict(customer=huge_customers, profile=profile, day=day, country=country)
        parts.append(_headers(HUGE, n_huge, minute=minute, **common))
        parts.append(
            _headers(
                HUGE_CANCEL,
                n_huge,
                minute=minute + rng.integers(5, 25, n_huge),
                parent=np.arange(n_huge),  # position among the HUGE headers; fixed in concat
                prefix=1,
                **common,
            )
        )

    n_adjust = rng.poisson(n_customers * STOCK_ADJUSTMENTS_PER_CUSTOMER_YEAR * cal.years)
    day, minute = some_days(n_adjust)
    parts.append(_headers(STOCK_ADJUSTMENT, n_adjust, day=day, minute=minute))

    for position, (rate, cancelled_share, _) in enumerate(FEES.values()):
        n_fee = rng.poisson(n_customers * rate * cal.years)
        day, minute = some_days(n_fee)
        cancelled = rng.random(n_fee) < cancelled_share
        parts.append(
            _headers(FEE, n_fee, day=day, minute=minute, prefix=cancelled, detail=position)
        )

    if chunk == 0:
        # One bad debt written off: +x then two -x adjustments a minute apart ('A' invoices).
        day, minute = some_days(1)
        parts.append(
            _headers(BAD_DEBT, 3, day=day[0], minute=minute[0] + np.arange(3), prefix=2,
                     detail=np.array([1, -1, -1]))
        )  # fmt: skip
    return parts


def _plan_chunk(ctx: _Context, chunk: int) -> tuple[_Customers, _Headers]:
    """Customers and every invoice header of one chunk (deterministic per seed and chunk)."""
    rng = np.random.default_rng([ctx.config.seed, chunk + 1, 0])
    customers = _plan_customers(ctx, chunk, rng)
    purchases = _plan_purchases(ctx, customers, chunk, rng)
    returns = _plan_returns(ctx, purchases, rng)
    guests = _plan_guests(ctx, customers.archetype.size, rng)
    events = _plan_events(ctx, customers, chunk, rng)
    headers = _Headers.concat([purchases, returns, guests, *events])
    # Re-point HUGE_CANCEL parents at their HUGE header in the concatenated table.
    huge = np.flatnonzero(headers.kind == HUGE)
    cancels = headers.kind == HUGE_CANCEL
    headers.parent[cancels] = huge[headers.parent[cancels]]
    return customers, headers


def _invoice_numbers(headers: _Headers, day_offsets: np.ndarray) -> np.ndarray:
    """Invoice numbers: by day across the log, by time within the day inside a chunk."""
    order = np.lexsort((np.arange(len(headers)), headers.minute, headers.day))
    sorted_days = headers.day[order]
    first_of_day = np.searchsorted(sorted_days, sorted_days, side="left")
    numbers = np.empty(len(headers), dtype=np.int64)
    numbers[order] = day_offsets[sorted_days] + np.arange(len(headers)) - first_of_day
    return numbers


@dataclass
class _Lines:
    """Transaction lines of a chunk before they become text (indices into lookup tables)."""

    header: np.ndarray
    code: np.ndarray
    text: np.ndarray  # index into catalogue.descriptions, -1 for a missing description
    quantity: np.ndarray
    price: np.ndarray

    @staticmethod
    def concat(parts: list[_Lines]) -> _Lines:
        return _Lines(
            **{
                name: np.concatenate([getattr(p, name) for p in parts])
                for name in _Lines.__dataclass_fields__
            }
        )


def _sample_products(
    ctx: _Context, profile: np.ndarray, day: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A product per line: segment by archetype and month, then popularity among launched."""
    cat = ctx.catalogue
    month = ctx.calendar.month[day]
    christmas = np.minimum(
        np.asarray(CHRISTMAS_BY_MONTH)[month - 1] * CHRISTMAS_AFFINITY[profile], 0.85
    )
    u_segment = rng.random(day.size)
    segment = (rng.random(day.size)[:, None] >= SEGMENT_CDF[profile]).sum(axis=1)
    segment = np.where(u_segment < christmas, 3, np.minimum(segment, 2))
    u = rng.random(day.size)
    product = np.empty(day.size, dtype=np.int64)
    for s in range(4):
        mask = segment == s
        available = cat.segment_available[s][day[mask]]
        cumulative = cat.segment_cumulative[s]
        target = u[mask] * cumulative[available - 1]
        local = np.minimum(np.searchsorted(cumulative, target, side="right"), available - 1)
        product[mask] = cat.segment_products[s][local]
    return product


def _repeated(keys: np.ndarray) -> np.ndarray:
    """True for every occurrence of a key after its first."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    repeated = np.empty(keys.size, dtype=bool)
    repeated[order] = np.concatenate([[False], ordered[1:] == ordered[:-1]])
    return repeated


def _line_prices(
    ctx: _Context, product: np.ndarray, quantity: np.ndarray, day: np.ndarray, guest: np.ndarray
) -> np.ndarray:
    """Unit price: list price, later rises, quantity tiers, web-shop mark-up; snapped."""
    cat = ctx.catalogue
    price = cat.price[product] * np.where(day >= cat.price_change_day, cat.price_rise[product], 1)
    price = price * np.where(quantity >= 100, 0.82, np.where(quantity >= 24, 0.9, 1.0))
    price = price * np.where(guest, GUEST_PRICE_MARKUP, 1.0)
    return _snap_prices(price)


def _product_lines(
    ctx: _Context, headers: _Headers, customers: _Customers, rng: np.random.Generator
) -> tuple[_Lines, np.ndarray]:
    """Product lines of purchases and guest orders, plus each header's first line position."""
    cat = ctx.catalogue
    has_products = (headers.kind == PURCHASE) | (headers.kind == GUEST_ORDER)
    counts = np.where(has_products, headers.n_lines, 0)
    header = np.repeat(np.arange(len(headers)), counts)
    first_line = np.cumsum(counts) - counts
    profile = headers.profile[header]
    day = headers.day[header]
    product = _sample_products(ctx, profile, day, rng)
    for _ in range(3):  # an order seldom lists a product twice: draw repeats again
        repeat = _repeated(header * cat.n_products + product)
        if not repeat.any():
            break
        product[repeat] = _sample_products(ctx, profile[repeat], day[repeat], rng)
    customer = headers.customer[header]
    whale = np.where(customer >= 0, customers.whale[np.maximum(customer, 0)], False)
    packs = 1 + rng.poisson(PACKS[profile] * np.where(whale, WHALE_PACKS, 1.0))
    by_pack = rng.random(header.size) < PACK_SHARE[profile]
    quantity = np.where(by_pack, cat.pack[product], 1) * packs
    price = _line_prices(ctx, product, quantity, day, profile == GUEST)
    price = np.where(rng.random(header.size) < ZERO_PRICE_SHARE, 0.0, price)
    altered = cat.altered[product] & (day >= cat.price_change_day)
    text = np.where(altered, cat.altered_offset + product, product)
    lines = _Lines(header, product, text, quantity.astype(np.int64), price)
    return lines, first_line


def _extra_lines(
    ctx: _Context, headers: _Headers, products: _Lines, rng: np.random.Generator
) -> _Lines:
    """Non-product lines on orders: postage, carriage, dotcom postage, charges, vouchers."""
    cat = ctx.catalogue
    n = len(headers)
    zone = ctx.zone[headers.country]
    purchase = headers.kind == PURCHASE
    guest = headers.kind == GUEST_ORDER
    foreign = headers.country != 0
    draws = rng.random((5, n))
    parts: list[_Lines] = []

    def add(mask: np.ndarray, code: int | np.ndarray, quantity, price) -> None:
        idx = np.flatnonzero(mask)
        code = np.broadcast_to(np.asarray(code), mask.shape)[idx]
        quantity = np.broadcast_to(np.asarray(quantity), mask.shape)[idx]
        price = np.broadcast_to(np.asarray(price, dtype=float), mask.shape)[idx]
        parts.append(_Lines(idx, code, code, quantity.astype(np.int64), price))

    postage_eu = np.asarray(POSTAGE_PRICES["eu"])
    postage_world = np.asarray(POSTAGE_PRICES["world"])
    postage = np.where(
        zone == 1,
        postage_world[rng.integers(0, postage_world.size, n)],
        postage_eu[rng.integers(0, postage_eu.size, n)],
    )
    add(purchase & foreign & (zone != 2) & (draws[0] < 0.65), cat.non_product("POST"),
        rng.choice([1, 1, 1, 2, 3], n), postage)  # fmt: skip
    add(purchase & (zone == 2) & (draws[0] < 0.5), cat.non_product("C2"), 1, CARRIAGE_PRICE)
    add(purchase & foreign & (draws[1] < 0.01), cat.non_product("BANK CHARGES"), 1, 15.0)
    add(purchase & (draws[2] < 0.004), cat.non_product("M"), 1,
        _snap_prices(rng.lognormal(np.log(6.0), 0.8, n)))  # fmt: skip
    basket = np.bincount(products.header, products.quantity * products.price, minlength=n)
    dotcom = np.round(np.maximum(basket * rng.uniform(0.08, 0.15, n), 0.85), 2)
    add(guest & (headers.n_lines > 1) & (draws[3] < 0.75), cat.non_product("DOT"), 1, dotcom)
    voucher = rng.integers(0, len(GIFT_VOUCHER_VALUES), n)
    add(guest & (draws[4] < 0.01), cat.gift_voucher(voucher), 1,
        np.round(np.asarray(GIFT_VOUCHER_VALUES)[voucher] / (1 + VAT_RATE), 2))  # fmt: skip
    return _Lines.concat(parts)


def _return_lines(
    ctx: _Context,
    headers: _Headers,
    products: _Lines,
    first_line: np.ndarray,
    rng: np.random.Generator,
) -> _Lines:
    """Lines of cancellation invoices: copies of the parent's lines with negative quantity."""
    cat = ctx.catalogue
    returns = np.flatnonzero(headers.kind == RETURN)
    k = headers.n_lines[returns]
    parent = headers.parent[returns]
    start = rng.integers(0, 1 << 30, returns.size) % headers.n_lines[parent]
    header = np.repeat(returns, k)
    offset = (np.repeat(start, k) + _group_positions(k)) % np.repeat(headers.n_lines[parent], k)
    source = first_line[np.repeat(parent, k)] + offset
    quantity = products.quantity[source]
    partial = rng.random(source.size) < 0.3
    quantity = np.where(partial, np.ceil(quantity * rng.random(source.size)), quantity)
    lines = _Lines(
        header,
        products.code[source],
        products.text[source],
        -np.maximum(quantity, 1).astype(np.int64),
        products.price[source],
    )
    # Some refunds come with a discount or a manual correction line.
    profile = headers.profile[returns]
    trade = (profile == WHOLESALE) | (profile == ARCHETYPE_NAMES.index("loyal_high_value"))
    discount = returns[rng.random(returns.size) < np.where(trade, 0.08, 0.02)]
    manual = returns[rng.random(returns.size) < 0.03]
    code_d, code_m = cat.non_product("D"), cat.non_product("M")
    discount_price = np.round(rng.lognormal(np.log(20.0), 0.9, discount.size), 2)
    manual_price = _snap_prices(rng.lognormal(np.log(8.0), 0.9, manual.size))
    extra = [
        _Lines(discount, np.full(discount.size, code_d), np.full(discount.size, code_d),
               np.full(discount.size, -1), discount_price),
        _Lines(manual, np.full(manual.size, code_m), np.full(manual.size, code_m),
               np.full(manual.size, -1), manual_price),
    ]  # fmt: skip
    return _Lines.concat([lines, *extra])


def _event_lines(ctx: _Context, headers: _Headers, rng: np.random.Generator) -> _Lines:
    """Lines of the one-line invoices: huge orders and their reversal, adjustments, fees."""
    cat = ctx.catalogue
    parts: list[_Lines] = []

    huge = np.flatnonzero(headers.kind == HUGE)
    cancels = np.flatnonzero(headers.kind == HUGE_CANCEL)
    cancel_parent_rank = np.searchsorted(huge, headers.parent[cancels])
    cheap = cat.segment_products[0][: max(1, int(cat.segment_available[0][0]))]
    mid = cat.segment_products[1][: max(1, int(cat.segment_available[1][0]))]
    pool = np.concatenate([cheap, mid])
    product = pool[rng.integers(0, pool.size, huge.size)]
    quantity = rng.integers(50_000, 100_000, huge.size)
    price = cat.price[product]
    parts.append(_Lines(huge, product, product, quantity, price))
    parts.append(
        _Lines(cancels, product[cancel_parent_rank], product[cancel_parent_rank],
               -quantity[cancel_parent_rank], price[cancel_parent_rank])
    )  # fmt: skip

    adjust = np.flatnonzero(headers.kind == STOCK_ADJUSTMENT)
    launched = cat.launch_day <= 0
    product = np.flatnonzero(launched)[rng.integers(0, int(launched.sum()), adjust.size)]
    note = rng.integers(0, len(STOCK_NOTES), adjust.size)
    found = np.asarray(STOCK_NOTES)[note] == "found"
    text = np.where(rng.random(adjust.size) < 0.65, -1, cat.notes_offset + note)
    quantity = cat.pack[product] * rng.integers(1, 20, adjust.size)
    quantity = np.where(found & (text >= 0), quantity, -quantity)
    parts.append(_Lines(adjust, product, text, quantity, np.zeros(adjust.size)))

    fees = np.flatnonzero(headers.kind == FEE)
    fee_codes = np.array([cat.non_product(code) for code in FEES])
    typical = np.log(np.array([amount for _, _, amount in FEES.values()]))
    detail = headers.detail[fees]
    price = np.round(rng.lognormal(typical[detail], 0.8), 2)
    sign = np.where(headers.prefix[fees] == 1, -1, 1)
    code = fee_codes[detail]
    parts.append(_Lines(fees, code, code, sign.astype(np.int64), price))

    bad_debt = np.flatnonzero(headers.kind == BAD_DEBT)
    amount = np.round(rng.lognormal(np.log(10_000.0), 0.3), 2)
    code = np.full(bad_debt.size, cat.non_product("B"))
    parts.append(
        _Lines(bad_debt, code, code, np.ones(bad_debt.size, np.int64),
               amount * headers.detail[bad_debt])
    )  # fmt: skip
    return _Lines.concat(parts)


def _chunk_lines(ctx: _Context, chunk: int, customers: _Customers, headers: _Headers) -> _Lines:
    """Every line of a chunk, invoice by invoice (exact duplicates next to their original)."""
    rng = np.random.default_rng([ctx.config.seed, chunk + 1, 1])
    products, first_line = _product_lines(ctx, headers, customers, rng)
    returns = _return_lines(ctx, headers, products, first_line, rng)
    extras = _extra_lines(ctx, headers, products, rng)
    events = _event_lines(ctx, headers, rng)
    copies = 1 + (rng.random(products.header.size) < DUPLICATE_LINE_SHARE)
    repeated = np.repeat(np.arange(products.header.size), copies)
    products = _Lines(**{n: getattr(products, n)[repeated] for n in _Lines.__dataclass_fields__})
    return _Lines.concat([products, extras, returns, events])


def _to_arrow(
    ctx: _Context,
    customers: _Customers,
    headers: _Headers,
    numbers: np.ndarray,
    lines: _Lines,
    first_row: int,
) -> pa.Table:
    """The chunk's lines as a contract table, ordered by invoice number then line."""
    order = np.argsort(numbers[lines.header], kind="stable")
    header = lines.header[order]
    n = header.size
    cat = ctx.catalogue
    prefixes = pa.array(PREFIXES_BY_CODE, type=pa.string()).take(headers.prefix[header])
    invoice = pc.binary_join_element_wise(
        prefixes, pc.cast(pa.array(numbers[header]), pa.string()), ""
    )
    text = lines.text[order]
    description = cat.descriptions.take(pa.array(np.maximum(text, 0), mask=text < 0))
    customer = headers.customer[header]
    customer_id = customers.ids.take(pa.array(np.maximum(customer, 0), mask=customer < 0))
    seconds = (headers.day[header] * 86_400 + headers.minute[header] * 60) * 1_000_000
    epoch = np.datetime64(ctx.calendar.start, "us").astype(np.int64)
    columns = {
        "invoice_id": invoice,
        "stock_code": cat.codes.take(pa.array(lines.code[order])),
        "description": description,
        "quantity": pa.array(lines.quantity[order], type=pa.int64()),
        "unit_price": pa.array(np.round(lines.price[order], 2), type=pa.float64()),
        "invoiced_at": pa.array(epoch + seconds, type=pa.timestamp("us")),
        "customer_id": customer_id,
        "country": ctx.countries.take(pa.array(headers.country[header])),
        "source_file": pa.array([ctx.config.source_file], type=pa.string()).take(
            pa.array(np.zeros(n, dtype=np.int64))
        ),
        "source_row": pa.array(first_row + np.arange(1, n + 1), type=pa.int64()),
    }
    return pa.Table.from_pydict(columns, schema=TRANSACTIONS_SCHEMA)


def _archetype_table(customers: _Customers) -> pa.Table:
    names = pa.array(ARCHETYPE_NAMES, type=pa.string()).take(pa.array(customers.archetype))
    return pa.Table.from_arrays([customers.ids, names], schema=ARCHETYPES_SCHEMA)


def _day_offsets(ctx: _Context) -> np.ndarray:
    """First invoice number per (chunk, day): numbers grow day by day across all chunks."""
    counts = np.zeros((ctx.n_chunks, ctx.calendar.n_days), dtype=np.int64)
    for chunk in range(ctx.n_chunks):
        _, headers = _plan_chunk(ctx, chunk)
        counts[chunk] = np.bincount(headers.day, minlength=ctx.calendar.n_days)
    day_major = counts.T.ravel()
    starts = FIRST_INVOICE_NUMBER + np.cumsum(day_major) - day_major
    return starts.reshape(ctx.calendar.n_days, ctx.n_chunks).T


def generate_chunks(config: DemoConfig) -> Iterator[tuple[pa.Table, pa.Table]]:
    """Yield ``(transactions, archetypes)`` Arrow tables, one pair per chunk of customers.

    Tables follow ``contract.TRANSACTION_COLUMNS`` and ``contract.ARCHETYPE_COLUMNS``;
    ``source_row`` counts rows 1, 2, … across all chunks. Every customer in an archetypes
    chunk has at least one transaction in the matching transactions chunk.
    """
    ctx = _build_context(config)
    offsets = _day_offsets(ctx)
    rows = 0
    for chunk in range(ctx.n_chunks):
        customers, headers = _plan_chunk(ctx, chunk)
        numbers = _invoice_numbers(headers, offsets[chunk])
        lines = _chunk_lines(ctx, chunk, customers, headers)
        table = _to_arrow(ctx, customers, headers, numbers, lines, rows)
        rows += table.num_rows
        yield table, _archetype_table(customers)


def write_demo(
    con: duckdb.DuckDBPyConnection, config: DemoConfig, replace: bool = True
) -> DemoSummary:
    """Generate the demo log into ``raw.transactions`` and ``raw.customer_archetypes``.

    Refused (``ValueError``) when the warehouse already holds loaded, non-demo data.

    Chunks are first appended to staging tables (committed chunk by chunk, so memory stays
    flat however big the log is); then one transaction empties the two raw tables (with
    ``replace``, the default), copies the staged rows in and drops the staging tables, so
    readers see either the previous contents or the complete new log. Without ``replace``
    rows are appended, which is refused when rows of the same ``source_file`` are there.
    """
    warehouse.ensure_raw_tables(con)
    targets = {
        f"{RAW_SCHEMA}.{TRANSACTIONS_TABLE}": (STAGING_TRANSACTIONS, TRANSACTION_COLUMNS),
        f"{RAW_SCHEMA}.{ARCHETYPES_TABLE}": (STAGING_ARCHETYPES, ARCHETYPE_COLUMNS),
    }
    transactions = f"{RAW_SCHEMA}.{TRANSACTIONS_TABLE}"
    loaded = con.execute(
        f"select count(*) from {transactions} where not starts_with(source_file, ?)",
        [DEMO_SOURCE_PREFIX],
    ).fetchall()[0][0]
    if loaded:
        raise ValueError(
            f"{transactions} already holds {loaded:,} rows of loaded data; demo data would "
            "replace or mix with them: generate it into another warehouse (--database)"
        )
    if not replace:
        present = con.execute(
            f"select count(*) from {transactions} where source_file = ?", [config.source_file]
        ).fetchall()[0][0]
        if present:
            raise ValueError(
                f"{transactions} already holds {present} rows from {config.source_file}; "
                "use replace=True to regenerate them"
            )
    for staging, columns in targets.values():
        con.execute(f"drop table if exists {RAW_SCHEMA}.{staging}")
        con.execute(create_table_sql(staging, columns))
    rows = customers = invoices = 0
    try:
        for table, truth in generate_chunks(config):
            _append(con, STAGING_TRANSACTIONS, TRANSACTION_COLUMNS, table)
            _append(con, STAGING_ARCHETYPES, ARCHETYPE_COLUMNS, truth)
            rows += table.num_rows
            customers += truth.num_rows
            invoices += pc.count_distinct(table["invoice_id"]).as_py()
        con.begin()
        try:
            for target, (staging, columns) in targets.items():
                names = ", ".join(columns)
                if replace:
                    con.execute(f"delete from {target}")
                con.execute(
                    f"insert into {target} ({names}) select {names} from {RAW_SCHEMA}.{staging}"
                )
            con.commit()
        except BaseException:
            con.rollback()
            raise
    finally:
        for staging, _ in targets.values():
            con.execute(f"drop table if exists {RAW_SCHEMA}.{staging}")
    return DemoSummary(rows, customers, invoices, config.source_file)


def _append(
    con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], data: pa.Table
) -> None:
    """Append an Arrow table to ``raw.<table>`` (columns by name)."""
    names = ", ".join(columns)
    view = f"demo_chunk_{table}"
    con.register(view, data)
    try:
        con.execute(f"insert into {RAW_SCHEMA}.{table} ({names}) select {names} from {view}")
    finally:
        con.unregister(view)

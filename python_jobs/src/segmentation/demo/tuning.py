"""Every number and word list that shapes the demo log, in one place.

Shares, rates, calendar profiles, prices, the archetypes' parameters, the countries and the
catalogue's vocabulary: the other modules of the generator only apply them. Changing any value
here changes the generated data (the same values always give byte-identical tables).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# --------------------------------------------------------------------------------------------
# Size and numbering
# --------------------------------------------------------------------------------------------

DEFAULT_END_DATE = dt.date(2026, 9, 30)
# Customers generated together; part of the output's definition (changing it changes the data).
CHUNK_CUSTOMERS = 2500
FIRST_CUSTOMER_ID = 12346
FIRST_INVOICE_NUMBER = 536365


# --------------------------------------------------------------------------------------------
# Archetypes: the planted behaviour of each kind of customer
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Archetype:
    """Planted behaviour of one kind of customer.

    ``start`` is the range of the first possible order as a fraction of the window;
    ``active`` (fractions of the window) limits how long the customer keeps buying (``None``:
    until the end); ``recent_days`` instead starts the customer within the last days;
    ``quiet_days`` ends every customer's window that many days before the end of the log.
    ``orders_per_year`` of 0 means exactly one order; otherwise a customer places at least
    ``min_orders``. ``regular`` customers spread their orders evenly over their window's order
    density (one per stretch), the others draw each day independently. A line is bought by
    the product's pack with probability ``pack_share`` (else by the unit), ``packs`` is the
    mean number of extra packs (or units) per line; ``segments`` the shares of cheap,
    mid-priced and premium products; ``christmas`` scales the store's share of Christmas
    products; ``returns`` is the share of orders partly cancelled later, ``return_days`` the
    mean delay of those cancellations. ``lines_dispersion`` (the negative binomial shape of the
    number of lines of an order) defaults to ``ORDER_LINES_DISPERSION``. ``hour_profile`` is the
    time of day of the archetype's orders, all before the evening; ``evening_shoppers`` is the
    share of its customers who also shop in the evening (``EVENING_ORDER_SHARE`` of their
    orders), ``metre_buyers`` the share who also buy products sold by the metre.
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
    quiet_days: int | None = None
    min_orders: int = 1
    lines_dispersion: float | None = None
    evening_shoppers: float = 0.0
    metre_buyers: float = 0.0


ARCHETYPES: tuple[Archetype, ...] = (
    # Buys all year round, every two months or so, big baskets of premium products.
    Archetype(
        "loyal_high_value", share=0.11, start=(0.0, 0.25), orders_per_year=6.0,
        lines_per_order=12.0, pack_share=0.5, packs=1.0, segments=(0.10, 0.45, 0.45),
        christmas=1.0, returns=0.08, return_days=6, month_profile="soft",
        weekday_profile="workweek", hour_profile="office", uk_share=0.90, regular=True,
        evening_shoppers=0.06, metre_buyers=0.10,
    ),
    # Orders a couple of cheap items every two or three weeks, any day, often in the evening.
    Archetype(
        "frequent_low_basket", share=0.13, start=(0.0, 0.5), orders_per_year=20.0,
        lines_per_order=2.6, pack_share=0.1, packs=0.3, segments=(0.70, 0.27, 0.03),
        christmas=0.6, returns=0.04, return_days=3, month_profile="flat",
        weekday_profile="anyday", hour_profile="leisure", uk_share=0.93, regular=True,
        evening_shoppers=0.35,
    ),
    # Comes back every Christmas: a big basket of premium presents once or twice between
    # October and December of each year, at weekends; returns a lot in January; nothing the
    # rest of the year.
    Archetype(
        "seasonal_gift_buyer", share=0.15, start=(0.0, 0.05), orders_per_year=0.9,
        lines_per_order=24.0, pack_share=0.4, packs=0.6, segments=(0.05, 0.35, 0.60),
        christmas=2.8, returns=0.22, return_days=18, month_profile="gift",
        weekday_profile="weekend", hour_profile="leisure", uk_share=0.93, regular=True,
        min_orders=2, evening_shoppers=0.12, metre_buyers=0.10,
    ),
    # A single, small order, at any time but the last four months (a recent single order is
    # a new customer's first).
    Archetype(
        "one_time_buyer", share=0.26, start=(0.0, 0.0), orders_per_year=0.0,
        lines_per_order=6.0, pack_share=0.4, packs=0.5, segments=(0.30, 0.50, 0.20),
        christmas=1.0, returns=0.10, return_days=6, month_profile="store",
        weekday_profile="workweek", hour_profile="mixed", uk_share=0.92, quiet_days=120,
        lines_dispersion=4.0, evening_shoppers=0.08, metre_buyers=0.08,
    ),
    # Bought every few weeks for a few months early in the window, returned a lot, then
    # stopped.
    Archetype(
        "lapsed", share=0.18, start=(0.0, 0.3), orders_per_year=18.0, lines_per_order=8.0,
        pack_share=0.5, packs=0.8, segments=(0.30, 0.50, 0.20), christmas=1.0,
        returns=0.20, return_days=8, month_profile="store", weekday_profile="workweek",
        hour_profile="office", uk_share=0.92, active=(0.12, 0.3), min_orders=3,
        evening_shoppers=0.05, metre_buyers=0.10,
    ),
    # Shops and resellers: restock every three or four weeks, large quantities of cheap items
    # at trade prices, weekday mornings.
    Archetype(
        "wholesale", share=0.05, start=(0.0, 0.4), orders_per_year=15.0, lines_per_order=30.0,
        pack_share=1.0, packs=5.0, segments=(0.55, 0.40, 0.05), christmas=1.0,
        returns=0.15, return_days=4, month_profile="trade", weekday_profile="workweek",
        hour_profile="morning", uk_share=0.65, regular=True, metre_buyers=0.15,
    ),
    # First order within the last three months.
    Archetype(
        "new_customer", share=0.12, start=(0.0, 0.0), orders_per_year=8.0,
        lines_per_order=10.0, pack_share=0.4, packs=0.5, segments=(0.30, 0.50, 0.20),
        christmas=1.0, returns=0.06, return_days=5, month_profile="store",
        weekday_profile="workweek", hour_profile="mixed", uk_share=0.92, recent_days=90,
        evening_shoppers=0.10, metre_buyers=0.08,
    ),
)  # fmt: skip

# Wholesale customers that are whales, and how much bigger they are.
WHALE_SHARE = 0.03
WHALE_ORDERS = 3.0
WHALE_LINES = 1.5
WHALE_PACKS = 2.5

# Guest checkouts (no customer id): orders per customer-year and their line-count mixture.
GUEST_ORDERS_PER_CUSTOMER_YEAR = 0.8
GUEST_SINGLE_LINE_SHARE = 0.35
GUEST_BIG_SHARE = 0.15
GUEST_SMALL_LINES = 9.0
GUEST_BIG_LINES = 75.0
# Dispersion (negative binomial shape) of the small and the big guest orders' line counts.
GUEST_SMALL_DISPERSION = 1.5
GUEST_BIG_DISPERSION = 2.0
GUEST_PRICE_MARKUP = 1.17  # the web shop charges more than the trade price list
GUEST_SEGMENTS = (0.35, 0.45, 0.20)
# Guest lines: mean extra packs, share bought by the pack, affinity to Christmas products.
GUEST_PACKS = 0.3
GUEST_PACK_SHARE = 0.15
GUEST_CHRISTMAS = 1.0

# --------------------------------------------------------------------------------------------
# Orders, returns and rare events
# --------------------------------------------------------------------------------------------

# Dispersion (negative binomial shape) of the number of lines of a customer's order.
ORDER_LINES_DISPERSION = 1.5
# Highest share of an order's lines that are Christmas products, however festive the month.
CHRISTMAS_SHARE_CAP = 0.85
# Unit price factor by quantity of the line: (at least this many units, factor), biggest first.
QUANTITY_DISCOUNTS = ((100, 0.82), (24, 0.9))

# Returns: share made the same day (a few minutes to hours later), success probability of
# the geometric number of lines returned, share of returned lines only partly returned.
SAME_DAY_RETURN_SHARE = 0.35
SAME_DAY_RETURN_MINUTES = (2, 180)
RETURNED_LINES_P = 0.55
PARTIAL_RETURN_SHARE = 0.3
# Refund extras: share of returns with a discount line (of trade and loyal customers, of
# others) or a manual correction line, and their typical amounts in GBP (log-normal, spread).
TRADE_RETURN_DISCOUNT_SHARE = 0.08
RETURN_DISCOUNT_SHARE = 0.02
RETURN_MANUAL_SHARE = 0.03
RETURN_DISCOUNT_AMOUNT = (20.0, 0.9)
RETURN_MANUAL_AMOUNT = (8.0, 0.9)

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
# One-line invoices fall on store days within these hours (first hour, number of hours).
EVENT_HOURS = (8, 9)
# A mistaken huge order: its quantity range and how many minutes later it is reversed.
HUGE_ORDER_QUANTITY = (50_000, 100_000)
HUGE_CANCEL_MINUTES = (5, 25)
# Stock adjustments: share without a note, range of packs adjusted.
UNNOTED_ADJUSTMENT_SHARE = 0.65
ADJUSTMENT_PACKS = (1, 20)
# Spread of the fees' log-normal amounts around their typical amount (see FEES).
FEE_AMOUNT_SPREAD = 0.8
# The bad debt written off: typical amount in GBP and spread.
BAD_DEBT_AMOUNT = (10_000.0, 0.3)

# --------------------------------------------------------------------------------------------
# Calendar profiles
# --------------------------------------------------------------------------------------------

# The shop is closed from this day of December to this day of January (both included).
CHRISTMAS_CLOSURE = (24, 3)

MONTH_PROFILES: dict[str, tuple[float, ...]] = {  # January .. December
    "store": (0.75, 0.65, 0.85, 0.75, 0.85, 0.85, 0.9, 0.85, 1.15, 1.35, 1.8, 1.1),
    "soft": (0.85, 0.8, 0.95, 0.85, 0.95, 0.95, 0.95, 0.9, 1.05, 1.15, 1.35, 1.05),
    "flat": (1.0, 0.95, 1.0, 1.0, 1.0, 0.95, 0.95, 0.95, 1.0, 1.05, 1.1, 1.05),
    "gift": (0.04, 0.03, 0.04, 0.04, 0.04, 0.04, 0.04, 0.06, 0.3, 1.6, 5.5, 3.0),
    "trade": (0.7, 0.6, 0.8, 0.8, 0.85, 0.9, 1.0, 1.05, 1.35, 1.45, 1.5, 0.7),
}
WEEKDAY_PROFILES: dict[str, tuple[float, ...]] = {  # Monday .. Sunday
    # Like the real log: no orders on Saturdays, a few on Sundays.
    "workweek": (1.0, 1.1, 1.15, 1.1, 0.9, 0.0, 0.2),
    "anyday": (1.0, 1.0, 1.0, 1.0, 0.9, 0.8, 1.1),
    "weekend": (0.55, 0.55, 0.6, 0.6, 0.8, 1.6, 1.7),
}
# Hours of day -> weight. Customers' own profiles end before the evening (evening_start_hour,
# 18:00): only their evening shopping falls later, so most customers never order in the
# evening, as in the real log. Guest checkouts ("web") come at any hour.
HOUR_PROFILES: dict[str, dict[int, float]] = {
    "office": {7: 1, 8: 8, 9: 25, 10: 35, 11: 40, 12: 50, 13: 45, 14: 42, 15: 45, 16: 30,
               17: 12},
    "morning": {7: 3, 8: 22, 9: 40, 10: 45, 11: 35, 12: 25, 13: 20, 14: 15, 15: 12, 16: 6,
                17: 2},
    "leisure": {9: 4, 10: 10, 11: 20, 12: 25, 13: 25, 14: 25, 15: 25, 16: 20, 17: 18},
    "mixed": {8: 5, 9: 15, 10: 25, 11: 30, 12: 35, 13: 32, 14: 30, 15: 30, 16: 22, 17: 14},
    "evening": {18: 25, 19: 35, 20: 40, 21: 30, 22: 12},
    "web": {8: 5, 9: 15, 10: 25, 11: 30, 12: 35, 13: 32, 14: 30, 15: 30, 16: 22, 17: 14,
            18: 12, 19: 14, 20: 12, 21: 7, 22: 2},
}  # fmt: skip
# The hours of evening orders, and the share of an evening shopper's orders placed then.
EVENING_PROFILE = "evening"
EVENING_ORDER_SHARE = 0.5
GUEST_PROFILES = ("store", "anyday", "web")
# Share of lines that are Christmas products, by month (scaled by the archetype's affinity).
CHRISTMAS_BY_MONTH = (0.01, 0.0, 0.0, 0.0, 0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.28, 0.22)

# --------------------------------------------------------------------------------------------
# Countries and postage
# --------------------------------------------------------------------------------------------

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

# Non-product lines on orders: share of foreign orders (outside the carriage zone) with a
# postage line and the postage quantities drawn from, share of carriage-zone orders with a
# carriage line, share of foreign orders with bank charges and their price.
POSTAGE_SHARE = 0.65
POSTAGE_QUANTITIES = (1, 1, 1, 2, 3)
CARRIAGE_SHARE = 0.5
BANK_CHARGES_SHARE = 0.01
BANK_CHARGES_PRICE = 15.0
# Share of orders with a manual line and its typical price (log-normal with the given spread).
MANUAL_LINE_SHARE = 0.004
MANUAL_LINE_PRICE = (6.0, 0.8)
# Guest orders of several lines: share with dotcom postage, its share of the basket, minimum.
DOTCOM_POSTAGE_SHARE = 0.75
DOTCOM_POSTAGE_RATE = (0.08, 0.15)
DOTCOM_POSTAGE_MINIMUM = 0.85
# Share of guest orders that buy a gift voucher.
GIFT_VOUCHER_SHARE = 0.01


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
PRICE_SPREAD = 0.3  # log-normal spread of a product's price around its item's typical price
# Designs drawn from the items (a family of colour variants counts as one design).
CATALOGUE_DESIGNS = 3000
# Items at or above this typical price are drawn less often, with this relative weight.
EXPENSIVE_ITEM_PRICE = 8
EXPENSIVE_ITEM_WEIGHT = 0.3
# Five-digit stock code pools (start, stop, step) and the share of designs from each.
STOCK_CODE_POOLS = ((20600, 24000, 1), (84000, 85300, 1), (10000, 90000, 7))
STOCK_CODE_POOL_SHARES = (0.7, 0.2, 0.1)
VARIANT_SHARE = 0.15
VARIANTS_PER_FAMILY = (2, 6)  # range of the number of colour variants in a family
ALTERED_DESCRIPTION_SHARE = 0.02
TRAILING_SPACE_SHARE = 0.03
LATE_LAUNCH_SHARE = 0.25
PRICE_RISE_SHARE = 0.3
PRICE_RISE_RANGE = (1.04, 1.12)  # factor of a product's price rise
POPULARITY_SPREAD = 1.0  # log-normal spread of the products' popularity
# Products sold by the metre (ribbon, twine, trim): description -> price per metre in GBP.
# A line is hundreds of metres at a few pence each, so units per order say nothing about the
# basket of the customers who buy them (the trap quantity-based features fall into on real
# logs sold in units of measure). Their stock codes are the first free five-digit codes from
# METRE_STOCK_CODES_FROM on.
METRE_PRODUCTS: dict[str, float] = {
    "SATIN RIBBON BY THE METRE": 0.06,
    "JUTE TWINE BY THE METRE": 0.04,
    "LACE TRIM BY THE METRE": 0.09,
    "GINGHAM RIBBON BY THE METRE": 0.07,
}
METRE_STOCK_CODES_FROM = 47000
# Metres on a line (log-normal: median, spread; at least the minimum), and the share of a
# metre buyer's orders that have such a line.
METRE_QUANTITY = (200.0, 0.5)
METRE_MINIMUM = 20
METRE_ORDER_SHARE = 0.6
# Price segments: cheap below the first price, premium from the second (Christmas apart).
CHEAP_BELOW = 1.0
PREMIUM_FROM = 4.5
# Printed price points: the pence prices, then the pence endings of the pounds below ten and
# below fifty; from fifty pounds, every five pounds and 4.95 above it, up to the last.
PENCE_PRICES = (0.12, 0.14, 0.19, 0.21, 0.25, 0.29, 0.36, 0.39, 0.42, 0.55, 0.59, 0.65, 0.72,
                0.79, 0.83, 0.85)  # fmt: skip
PENCE_ENDINGS_BELOW_TEN = (0.1, 0.25, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95)
PENCE_ENDINGS_BELOW_FIFTY = (0.5, 0.75, 0.95)
LAST_PRICE_POINT_POUNDS = 2000

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


# --------------------------------------------------------------------------------------------
# Optional inputs: engagement events and customer attributes (demo/sources.py)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EngagementHabit:
    """How one archetype's customers use the site and the newsletter.

    ``browse_sessions_per_month``: sessions without an order (every order has its own
    session too), from a month before the first order to ``browse_after_last_days`` after the
    last one (``None``: to the end of the log); ``views_per_session`` is the mean number of
    product views, ``cart_per_view`` the chance a view adds to the cart. ``subscribed`` is the
    share on the mailing list (a send every ``EMAIL_EVERY_DAYS`` from the first order);
    ``open_rate`` the share of sends opened, ``click_rate`` the share of opens clicked;
    ``order_after_click`` the share of a subscriber's orders that follow an email click
    within ``EMAIL_ORDER_WINDOW_DAYS``.
    """

    browse_sessions_per_month: float
    views_per_session: float
    cart_per_view: float
    subscribed: float
    open_rate: float
    click_rate: float
    order_after_click: float
    browse_after_last_days: int | None = None


# Site-driven (frequent low-basket, new), email-driven (loyal high-value, seasonal gift) and
# neither (wholesale orders by the list, one-time and lapsed customers went quiet).
ENGAGEMENT_HABITS: dict[str, EngagementHabit] = {
    "loyal_high_value": EngagementHabit(1.0, 4.0, 0.15, 0.85, 0.55, 0.35, 0.55),
    "frequent_low_basket": EngagementHabit(2.5, 3.0, 0.25, 0.45, 0.12, 0.10, 0.05),
    "seasonal_gift_buyer": EngagementHabit(0.3, 6.0, 0.10, 0.80, 0.45, 0.30, 0.70),
    "one_time_buyer": EngagementHabit(0.2, 3.0, 0.10, 0.30, 0.10, 0.05, 0.05, 30),
    "lapsed": EngagementHabit(0.5, 3.0, 0.10, 0.50, 0.04, 0.02, 0.05, 30),
    "wholesale": EngagementHabit(0.3, 10.0, 0.40, 0.15, 0.10, 0.05, 0.0),
    "new_customer": EngagementHabit(3.0, 4.0, 0.20, 0.60, 0.35, 0.20, 0.20),
}
EMAIL_EVERY_DAYS = 14
EMAIL_ORDER_WINDOW_DAYS = 3
# Browsing starts this many days before the first order.
BROWSE_BEFORE_FIRST_DAYS = 30

# Customer attributes: the share of each archetype in the loyalty programme (about a third of
# all customers) and, per attribute, its categories with weights by archetype (the first
# entry, "*", for archetypes not listed).
ATTRIBUTE_COVERAGE: dict[str, float] = {
    "loyal_high_value": 0.60,
    "frequent_low_basket": 0.40,
    "seasonal_gift_buyer": 0.40,
    "one_time_buyer": 0.15,
    "lapsed": 0.25,
    "wholesale": 0.30,
    "new_customer": 0.45,
}
# A covered customer leaves an attribute blank with this chance (partial answers).
ATTRIBUTE_BLANK_SHARE = 0.08
ATTRIBUTE_MIX: dict[str, tuple[tuple[str, ...], dict[str, tuple[float, ...]]]] = {
    "age_band": (
        ("18-24", "25-34", "35-44", "45-54", "55-64", "65+"),
        {
            "*": (1, 2, 2, 2, 1.5, 1),
            "loyal_high_value": (0.2, 0.8, 1.5, 3, 3, 2),
            "frequent_low_basket": (3, 4, 1.5, 0.7, 0.4, 0.2),
            "seasonal_gift_buyer": (0.3, 1, 3.5, 3, 1.2, 0.6),
            "new_customer": (3, 3, 1.5, 0.8, 0.4, 0.2),
        },
    ),
    "household": (
        ("single", "couple", "family_with_kids"),
        {
            "*": (1, 1, 1),
            "loyal_high_value": (0.7, 2.2, 1),
            "frequent_low_basket": (2.5, 1, 0.5),
            "seasonal_gift_buyer": (0.4, 0.8, 3),
        },
    ),
    "income_band": (
        ("low", "middle", "high"),
        {
            "*": (1, 1.5, 1),
            "loyal_high_value": (0.3, 1, 2.5),
            "frequent_low_basket": (2, 1.5, 0.4),
            "wholesale": (0.5, 1.5, 1.5),
        },
    ),
    "signup_channel": (
        ("web", "store", "app", "trade"),
        {
            "*": (2, 1.5, 1, 0.05),
            "new_customer": (1.5, 0.5, 3, 0.05),
            "frequent_low_basket": (1.5, 0.5, 2.5, 0.05),
            "wholesale": (0.5, 0.3, 0.1, 4),
        },
    ),
    "kids_count": (
        ("0", "1", "2", "3"),
        {
            "*": (3, 1.2, 1, 0.3),
            "seasonal_gift_buyer": (0.5, 1.5, 2, 1),
            "frequent_low_basket": (4, 1, 0.4, 0.1),
        },
    ),
}
# Attributes stored as numbers (the others are categories).
NUMERIC_ATTRIBUTES: tuple[str, ...] = ("kids_count",)

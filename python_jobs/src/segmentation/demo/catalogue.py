"""The demo's product catalogue: stock codes, descriptions, prices, packs and popularity.

A few thousand products in the style of a UK gift wholesaler: designs drawn from the items of
``tuning.ITEMS`` (some as families of colour variants ``85123A``, ``85123B``, …), list prices
snapped to printed price points, launches during the window, a price rise and a few changed
descriptions halfway through. Products fall into price segments (cheap, mid-priced, premium)
plus the Christmas products, which lines draw from by popularity among the launched products.
A few products sold by the metre (``tuning.METRE_PRODUCTS``) come last, outside the segments:
only their buyers' lines use them.
The catalogue also holds the text tables lines index into (see :class:`Catalogue`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from segmentation.demo.calendar import Calendar
from segmentation.demo.config import DemoConfig
from segmentation.demo.tuning import (
    ALTERED_DESCRIPTION_SHARE,
    CATALOGUE_DESIGNS,
    CHEAP_BELOW,
    CHRISTMAS_THEMES,
    COLOURS,
    EXPENSIVE_ITEM_PRICE,
    EXPENSIVE_ITEM_WEIGHT,
    GIFT_VOUCHER_VALUES,
    ITEMS,
    LAST_PRICE_POINT_POUNDS,
    LATE_LAUNCH_SHARE,
    METRE_PRODUCTS,
    METRE_STOCK_CODES_FROM,
    NON_PRODUCTS,
    PENCE_ENDINGS_BELOW_FIFTY,
    PENCE_ENDINGS_BELOW_TEN,
    PENCE_PRICES,
    POPULARITY_SPREAD,
    PREFIXES,
    PREMIUM_FROM,
    PRICE_LEVEL,
    PRICE_RISE_RANGE,
    PRICE_RISE_SHARE,
    PRICE_SPREAD,
    STOCK_CODE_POOL_SHARES,
    STOCK_CODE_POOLS,
    STOCK_NOTES,
    THEMES,
    TRAILING_SPACE_SHARE,
    VARIANT_SHARE,
    VARIANTS_PER_FAMILY,
)

# Product segments lines are drawn from: three price levels, then the Christmas products.
SEGMENTS = ("cheap", "mid", "premium", "christmas")
CHRISTMAS_SEGMENT = SEGMENTS.index("christmas")


@dataclass(frozen=True)
class Catalogue:
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
    metre_products: np.ndarray  # product ids of the products sold by the metre

    @property
    def n_products(self) -> int:
        """Number of products (the first entries of the text tables)."""
        return self.price.size

    def non_product(self, code: str) -> int:
        """Position of a non-product stock code (``POST``, ``M``, …) in the text tables."""
        return self.n_products + list(NON_PRODUCTS).index(code)

    def gift_voucher(self, position: np.ndarray) -> np.ndarray:
        """Positions of the gift vouchers of the given value positions in the text tables."""
        return self.n_products + len(NON_PRODUCTS) + position

    @property
    def altered_offset(self) -> int:
        """Position of the first altered product description in ``descriptions``."""
        return self.n_products + len(NON_PRODUCTS) + len(GIFT_VOUCHER_VALUES)

    @property
    def notes_offset(self) -> int:
        """Position of the first stock-adjustment note in ``descriptions``."""
        return self.altered_offset + self.n_products


# --------------------------------------------------------------------------------------------
# Prices
# --------------------------------------------------------------------------------------------


def _price_points() -> np.ndarray:
    """Prices a shop would print: 0.42, 0.85, 1.25, 2.55, 4.95, 12.75, 39.95, …"""
    points = list(PENCE_PRICES)
    for pounds in range(1, 10):
        points += [pounds + c for c in PENCE_ENDINGS_BELOW_TEN]
    for pounds in range(10, 50):
        points += [pounds + c for c in PENCE_ENDINGS_BELOW_FIFTY]
    for pounds in range(50, LAST_PRICE_POINT_POUNDS, 5):
        points += [pounds + 0.0, pounds + 4.95]
    return np.round(np.array(sorted(points)), 2)


PRICE_POINTS = _price_points()


def snap_prices(prices: np.ndarray) -> np.ndarray:
    """Nearest printed price point (prices below the first point snap up to it)."""
    right = np.clip(np.searchsorted(PRICE_POINTS, prices), 1, PRICE_POINTS.size - 1)
    left = right - 1
    nearer_left = np.abs(prices - PRICE_POINTS[left]) <= np.abs(PRICE_POINTS[right] - prices)
    return PRICE_POINTS[np.where(nearer_left, left, right)]


# --------------------------------------------------------------------------------------------
# Designs: codes, descriptions, prices and packs
# --------------------------------------------------------------------------------------------


@dataclass
class _Designs:
    """The products drawn so far, one entry per stock code."""

    codes: list[str] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)
    prices: list[float] = field(default_factory=list)
    packs: list[int] = field(default_factory=list)
    christmas: list[bool] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # descriptions already used

    def add(self, code: str, description: str, price: float, pack: int, christmas: bool) -> None:
        self.codes.append(code)
        self.descriptions.append(description)
        self.prices.append(price)
        self.packs.append(pack)
        self.christmas.append(christmas)
        self.seen.add(description)


def _stock_code_bases(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct five-digit stock codes, most in the 20000s like the real catalogue."""
    chosen: list[np.ndarray] = []
    for (start, stop, step), share in zip(STOCK_CODE_POOLS, STOCK_CODE_POOL_SHARES, strict=True):
        pool = np.arange(start, stop, step)
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


def _new_description(
    rng: np.random.Generator, item: str, christmas: bool, plain: bool, seen: set[str]
) -> tuple[str, float]:
    """A description not in ``seen`` (after up to 20 draws) and its price multiplier."""
    multiplier = 1.0
    description = ""
    for _ in range(20):
        description, multiplier = _describe(rng, item, christmas, plain=plain)
        if description not in seen:
            break
    return description, multiplier


def _pack_size(rng: np.random.Generator, choices: tuple[int, ...], multiplier: float) -> int:
    """The item's pack size; sets (a price multiplier above 1.5) come in smaller packs."""
    pack = int(choices[rng.integers(len(choices))])
    if multiplier > 1.5:
        pack = 1 if pack < 6 else pack // 3
    return pack


def _draw_items(rng: np.random.Generator, n: int) -> list[str]:
    """The item of each design; expensive items are drawn less often."""
    item_names = list(ITEMS)
    typical_prices = np.array([ITEMS[name][0] for name in item_names])
    weights = np.where(typical_prices >= EXPENSIVE_ITEM_PRICE, EXPENSIVE_ITEM_WEIGHT, 1.0)
    draws = rng.choice(len(item_names), size=n, p=weights / weights.sum())
    return [item_names[i] for i in draws]


def _draw_designs(rng: np.random.Generator) -> _Designs:
    """Every design with its stock code; a family of variants (``85123A``, ``85123B``, …)
    shares the design and differs only in colour."""
    bases = _stock_code_bases(rng, CATALOGUE_DESIGNS)
    designs = _Designs()
    for base, item in zip(bases, _draw_items(rng, bases.size), strict=True):
        typical, pack_choices, christmas = ITEMS[item]
        family = rng.random() < VARIANT_SHARE
        description, multiplier = _new_description(rng, item, christmas, family, designs.seen)
        price = typical * multiplier * rng.lognormal(np.log(PRICE_LEVEL), PRICE_SPREAD)
        pack = _pack_size(rng, pack_choices, multiplier)
        if not family:
            designs.add(str(base), description, price, pack, christmas)
            continue
        colours = rng.choice(
            len(COLOURS), size=int(rng.integers(*VARIANTS_PER_FAMILY)), replace=False
        )
        variants = [f"{COLOURS[c]} {description}" for c in colours]
        for letter, variant in zip("ABCDEFG", variants, strict=False):
            designs.add(f"{base}{letter}", variant, price, pack, christmas)
    return designs


# --------------------------------------------------------------------------------------------
# Life in the window, segments and text tables
# --------------------------------------------------------------------------------------------


def _draw_history(
    rng: np.random.Generator, n: int, n_days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per product: launch day (0 for most), price-rise factor (1 for most) and whether its
    description changes on the price-change day."""
    late = rng.random(n) < LATE_LAUNCH_SHARE
    launch_day = np.where(late, rng.integers(0, n_days, n), 0)
    rises = rng.random(n) < PRICE_RISE_SHARE
    price_rise = np.where(rises, rng.uniform(*PRICE_RISE_RANGE, n), 1.0)
    altered = rng.random(n) < ALTERED_DESCRIPTION_SHARE
    return launch_day, price_rise, altered


def _with_trailing_spaces(rng: np.random.Generator, descriptions: list[str]) -> list[str]:
    """The descriptions, a few with a trailing space like in the real log."""
    trailing = rng.random(len(descriptions)) < TRAILING_SPACE_SHARE
    return [d + " " if t else d for d, t in zip(descriptions, trailing, strict=True)]


def _altered_descriptions(descriptions: list[str], altered: np.ndarray) -> list[str]:
    """Each product's description from the price-change day on (a colour added if altered)."""
    return [
        (d.rstrip() + " " + COLOURS[i % len(COLOURS)]) if a else d
        for i, (d, a) in enumerate(zip(descriptions, altered, strict=True))
    ]


def _segment_assortment(
    price: np.ndarray,
    christmas: np.ndarray,
    launch_day: np.ndarray,
    popularity: np.ndarray,
    n_days: int,
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...], np.ndarray]:
    """Per segment: its products by launch day, their cumulative popularity, and per day the
    number launched. The first product of each segment is made to launch on day 0 (in
    ``launch_day``, changed in place) so that every segment sells from the first day."""
    segment = np.where(price < CHEAP_BELOW, 0, np.where(price >= PREMIUM_FROM, 2, 1))
    segment[christmas] = CHRISTMAS_SEGMENT
    products: list[np.ndarray] = []
    cumulative: list[np.ndarray] = []
    available = np.zeros((len(SEGMENTS), n_days), dtype=np.int64)
    for s in range(len(SEGMENTS)):
        members = np.flatnonzero(segment == s)
        if members.size == 0:  # cannot happen with the vocabulary above; keep sampling safe
            members = np.array([int(np.argmin(np.abs(price - np.median(price))))])
        members = members[np.argsort(launch_day[members], kind="stable")]
        launch_day[members[0]] = 0
        products.append(members)
        cumulative.append(np.cumsum(popularity[members]))
        available[s] = np.searchsorted(launch_day[members], np.arange(n_days), side="right")
    return tuple(products), tuple(cumulative), available


def _text_tables(
    codes: list[str], descriptions: list[str], altered_text: list[str]
) -> tuple[pa.Array, pa.Array]:
    """The stock codes and descriptions lines index into (see :class:`Catalogue`)."""
    gift_codes = [f"gift_0001_{v}" for v in GIFT_VOUCHER_VALUES]
    gift_texts = [f"Dotcomgiftshop Gift Voucher £{v}.00" for v in GIFT_VOUCHER_VALUES]
    all_codes = codes + list(NON_PRODUCTS) + gift_codes
    all_texts = descriptions + list(NON_PRODUCTS.values()) + gift_texts + altered_text
    all_texts += list(STOCK_NOTES)
    return pa.array(all_codes, type=pa.string()), pa.array(all_texts, type=pa.string())


def _metre_codes(taken: list[str], n: int) -> list[str]:
    """``n`` five-digit stock codes from METRE_STOCK_CODES_FROM on that no design uses."""
    used = {code[:5] for code in taken}
    codes: list[str] = []
    candidate = METRE_STOCK_CODES_FROM
    while len(codes) < n:
        if str(candidate) not in used:
            codes.append(str(candidate))
        candidate += 1
    return codes


def build_catalogue(config: DemoConfig, calendar: Calendar) -> Catalogue:
    """A few thousand products with codes, descriptions, prices, packs and popularity, then
    the products sold by the metre (launched on day 0, never repriced or renamed)."""
    rng = np.random.default_rng([config.seed, 0, 0])
    designs = _draw_designs(rng)
    n = len(designs.codes)
    price = snap_prices(np.asarray(designs.prices))
    pack = np.maximum(np.asarray(designs.packs, dtype=np.int64), 1)
    launch_day, price_rise, altered = _draw_history(rng, n, calendar.n_days)
    descriptions = _with_trailing_spaces(rng, designs.descriptions)
    altered_text = _altered_descriptions(descriptions, altered)
    popularity = rng.lognormal(0.0, POPULARITY_SPREAD, n)
    segment_products, segment_cumulative, segment_available = _segment_assortment(
        price, np.asarray(designs.christmas), launch_day, popularity, calendar.n_days
    )
    metre_names = list(METRE_PRODUCTS)
    m = len(metre_names)
    codes, texts = _text_tables(
        designs.codes + _metre_codes(designs.codes, m),
        descriptions + metre_names,
        altered_text + metre_names,
    )
    return Catalogue(
        codes=codes,
        descriptions=texts,
        price=np.concatenate([price, list(METRE_PRODUCTS.values())]),
        pack=np.concatenate([pack, np.ones(m, dtype=np.int64)]),
        launch_day=np.concatenate([launch_day, np.zeros(m, dtype=launch_day.dtype)]),
        price_rise=np.concatenate([price_rise, np.ones(m)]),
        altered=np.concatenate([altered, np.zeros(m, dtype=bool)]),
        segment_products=segment_products,
        segment_cumulative=segment_cumulative,
        segment_available=segment_available,
        price_change_day=calendar.n_days // 2,
        metre_products=np.arange(n, n + m),
    )

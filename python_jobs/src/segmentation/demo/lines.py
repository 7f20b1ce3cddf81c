"""Drawing the lines of a chunk's invoices: products, prices, returns, fees and the like.

Lines are numpy arrays of indices into the catalogue's text tables (:class:`Lines`); they
become text only when the chunk is turned into an Arrow table (``writing.py``). Every chunk
draws its lines from its own random stream, after its headers are planned (``orders.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmentation.demo.archetypes import (
    CHRISTMAS_AFFINITY,
    GUEST,
    LOYAL_HIGH_VALUE,
    PACK_SHARE,
    PACKS,
    SEGMENT_CDF,
    WHOLESALE,
)
from segmentation.demo.catalogue import CHRISTMAS_SEGMENT, SEGMENTS, snap_prices
from segmentation.demo.context import CARRIAGE_ZONE, WORLD_ZONE, Context
from segmentation.demo.orders import (
    BAD_DEBT,
    FEE,
    GUEST_ORDER,
    HUGE,
    HUGE_CANCEL,
    PURCHASE,
    RETURN,
    STOCK_ADJUSTMENT,
    Customers,
    Headers,
    group_positions,
)
from segmentation.demo.tuning import (
    ADJUSTMENT_PACKS,
    BAD_DEBT_AMOUNT,
    BANK_CHARGES_PRICE,
    BANK_CHARGES_SHARE,
    CARRIAGE_PRICE,
    CARRIAGE_SHARE,
    CHRISTMAS_BY_MONTH,
    CHRISTMAS_SHARE_CAP,
    DOTCOM_POSTAGE_MINIMUM,
    DOTCOM_POSTAGE_RATE,
    DOTCOM_POSTAGE_SHARE,
    DUPLICATE_LINE_SHARE,
    FEE_AMOUNT_SPREAD,
    FEES,
    GIFT_VOUCHER_SHARE,
    GIFT_VOUCHER_VALUES,
    GUEST_PRICE_MARKUP,
    HUGE_ORDER_QUANTITY,
    MANUAL_LINE_PRICE,
    MANUAL_LINE_SHARE,
    METRE_MINIMUM,
    METRE_ORDER_SHARE,
    METRE_QUANTITY,
    PARTIAL_RETURN_SHARE,
    POSTAGE_PRICES,
    POSTAGE_QUANTITIES,
    POSTAGE_SHARE,
    QUANTITY_DISCOUNTS,
    RETURN_DISCOUNT_AMOUNT,
    RETURN_DISCOUNT_SHARE,
    RETURN_MANUAL_AMOUNT,
    RETURN_MANUAL_SHARE,
    STOCK_NOTES,
    TRADE_RETURN_DISCOUNT_SHARE,
    UNNOTED_ADJUSTMENT_SHARE,
    VAT_RATE,
    WHALE_PACKS,
    ZERO_PRICE_SHARE,
)


@dataclass
class Lines:
    """Transaction lines of a chunk before they become text (indices into lookup tables)."""

    header: np.ndarray
    code: np.ndarray
    text: np.ndarray  # index into catalogue.descriptions, -1 for a missing description
    quantity: np.ndarray
    price: np.ndarray

    @staticmethod
    def concat(parts: list[Lines]) -> Lines:
        """The lines of ``parts`` one after the other."""
        return Lines(
            **{
                name: np.concatenate([getattr(p, name) for p in parts])
                for name in Lines.__dataclass_fields__
            }
        )

    def take(self, index: np.ndarray) -> Lines:
        """The lines at the given positions."""
        return Lines(**{name: getattr(self, name)[index] for name in Lines.__dataclass_fields__})


def _lines_where(
    mask: np.ndarray,
    code: int | np.ndarray,
    quantity: int | np.ndarray,
    price: float | np.ndarray,
) -> Lines:
    """One line (described by its code) on each header where ``mask`` holds; ``code``,
    ``quantity`` and ``price`` are given per header or as one value."""
    idx = np.flatnonzero(mask)
    codes = np.broadcast_to(np.asarray(code), mask.shape)[idx]
    quantities = np.broadcast_to(np.asarray(quantity), mask.shape)[idx]
    prices = np.broadcast_to(np.asarray(price, dtype=float), mask.shape)[idx]
    return Lines(idx, codes, codes, quantities.astype(np.int64), prices)


# --------------------------------------------------------------------------------------------
# Product lines
# --------------------------------------------------------------------------------------------


def _sample_products(
    ctx: Context, profile: np.ndarray, day: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A product per line: segment by archetype and month, then popularity among launched."""
    cat = ctx.catalogue
    month = ctx.calendar.month[day]
    christmas = np.minimum(
        np.asarray(CHRISTMAS_BY_MONTH)[month - 1] * CHRISTMAS_AFFINITY[profile],
        CHRISTMAS_SHARE_CAP,
    )
    u_segment = rng.random(day.size)
    segment = (rng.random(day.size)[:, None] >= SEGMENT_CDF[profile]).sum(axis=1)
    segment = np.where(
        u_segment < christmas, CHRISTMAS_SEGMENT, np.minimum(segment, CHRISTMAS_SEGMENT - 1)
    )
    u = rng.random(day.size)
    product = np.empty(day.size, dtype=np.int64)
    for s in range(len(SEGMENTS)):
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
    ctx: Context, product: np.ndarray, quantity: np.ndarray, day: np.ndarray, guest: np.ndarray
) -> np.ndarray:
    """Unit price: list price, later rises, quantity tiers, web-shop mark-up; snapped."""
    cat = ctx.catalogue
    price = cat.price[product] * np.where(day >= cat.price_change_day, cat.price_rise[product], 1)
    (big, big_factor), (bulk, bulk_factor) = QUANTITY_DISCOUNTS
    price = price * np.where(
        quantity >= big, big_factor, np.where(quantity >= bulk, bulk_factor, 1.0)
    )
    price = price * np.where(guest, GUEST_PRICE_MARKUP, 1.0)
    return snap_prices(price)


def _product_lines(
    ctx: Context, headers: Headers, customers: Customers, rng: np.random.Generator
) -> tuple[Lines, np.ndarray]:
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
    metre = _metre_lines(headers, customers, first_line, rng)
    product[metre] = cat.metre_products[rng.integers(0, cat.metre_products.size, metre.size)]
    median, spread = METRE_QUANTITY
    metres = np.round(rng.lognormal(np.log(median), spread, metre.size))
    quantity[metre] = np.maximum(metres, METRE_MINIMUM).astype(quantity.dtype)
    price[metre] = cat.price[product[metre]]
    price = np.where(rng.random(header.size) < ZERO_PRICE_SHARE, 0.0, price)
    altered = cat.altered[product] & (day >= cat.price_change_day)
    text = np.where(altered, cat.altered_offset + product, product)
    lines = Lines(header, product, text, quantity.astype(np.int64), price)
    return lines, first_line


def _metre_lines(
    headers: Headers, customers: Customers, first_line: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Positions of the product lines that become a product sold by the metre: the first
    line of METRE_ORDER_SHARE of the purchases of the customers who buy by the metre."""
    customer = np.maximum(headers.customer, 0)
    chosen = (
        (headers.kind == PURCHASE)
        & customers.metre[customer]
        & (rng.random(len(headers)) < METRE_ORDER_SHARE)
    )
    return first_line[chosen]


# --------------------------------------------------------------------------------------------
# Non-product lines on orders
# --------------------------------------------------------------------------------------------


def _purchase_extras(
    ctx: Context, headers: Headers, draws: np.ndarray, rng: np.random.Generator
) -> list[Lines]:
    """Postage, carriage, bank charges and manual lines on customers' purchases."""
    cat = ctx.catalogue
    n = len(headers)
    zone = ctx.zone[headers.country]
    purchase = headers.kind == PURCHASE
    foreign = headers.country != 0
    postage_eu = np.asarray(POSTAGE_PRICES["eu"])
    postage_world = np.asarray(POSTAGE_PRICES["world"])
    postage = np.where(
        zone == WORLD_ZONE,
        postage_world[rng.integers(0, postage_world.size, n)],
        postage_eu[rng.integers(0, postage_eu.size, n)],
    )
    posted = purchase & foreign & (zone != CARRIAGE_ZONE) & (draws[0] < POSTAGE_SHARE)
    carried = purchase & (zone == CARRIAGE_ZONE) & (draws[0] < CARRIAGE_SHARE)
    manual_price, manual_spread = MANUAL_LINE_PRICE
    return [
        _lines_where(posted, cat.non_product("POST"), rng.choice(POSTAGE_QUANTITIES, n), postage),
        _lines_where(carried, cat.non_product("C2"), 1, CARRIAGE_PRICE),
        _lines_where(
            purchase & foreign & (draws[1] < BANK_CHARGES_SHARE),
            cat.non_product("BANK CHARGES"),
            1,
            BANK_CHARGES_PRICE,
        ),
        _lines_where(
            purchase & (draws[2] < MANUAL_LINE_SHARE),
            cat.non_product("M"),
            1,
            snap_prices(rng.lognormal(np.log(manual_price), manual_spread, n)),
        ),
    ]


def _guest_extras(
    ctx: Context, headers: Headers, products: Lines, draws: np.ndarray, rng: np.random.Generator
) -> list[Lines]:
    """Dotcom postage (a share of the basket) and gift vouchers on guest orders."""
    cat = ctx.catalogue
    n = len(headers)
    guest = headers.kind == GUEST_ORDER
    basket = np.bincount(products.header, products.quantity * products.price, minlength=n)
    dotcom = np.round(
        np.maximum(basket * rng.uniform(*DOTCOM_POSTAGE_RATE, n), DOTCOM_POSTAGE_MINIMUM), 2
    )
    dotted = guest & (headers.n_lines > 1) & (draws[3] < DOTCOM_POSTAGE_SHARE)
    voucher = rng.integers(0, len(GIFT_VOUCHER_VALUES), n)
    voucher_price = np.round(np.asarray(GIFT_VOUCHER_VALUES)[voucher] / (1 + VAT_RATE), 2)
    return [
        _lines_where(dotted, cat.non_product("DOT"), 1, dotcom),
        _lines_where(
            guest & (draws[4] < GIFT_VOUCHER_SHARE), cat.gift_voucher(voucher), 1, voucher_price
        ),
    ]


def _extra_lines(
    ctx: Context, headers: Headers, products: Lines, rng: np.random.Generator
) -> Lines:
    """Non-product lines on orders: postage, carriage, dotcom postage, charges, vouchers."""
    draws = rng.random((5, len(headers)))
    purchase_extras = _purchase_extras(ctx, headers, draws, rng)
    return Lines.concat([*purchase_extras, *_guest_extras(ctx, headers, products, draws, rng)])


# --------------------------------------------------------------------------------------------
# Cancellations
# --------------------------------------------------------------------------------------------


def _returned_lines(
    headers: Headers,
    returns: np.ndarray,
    products: Lines,
    first_line: np.ndarray,
    rng: np.random.Generator,
) -> Lines:
    """Copies of consecutive lines of each return's parent order, with negative quantity
    (the whole quantity, or part of it)."""
    k = headers.n_lines[returns]
    parent = headers.parent[returns]
    start = rng.integers(0, 1 << 30, returns.size) % headers.n_lines[parent]
    header = np.repeat(returns, k)
    offset = (np.repeat(start, k) + group_positions(k)) % np.repeat(headers.n_lines[parent], k)
    source = first_line[np.repeat(parent, k)] + offset
    quantity = products.quantity[source]
    partial = rng.random(source.size) < PARTIAL_RETURN_SHARE
    quantity = np.where(partial, np.ceil(quantity * rng.random(source.size)), quantity)
    return Lines(
        header,
        products.code[source],
        products.text[source],
        -np.maximum(quantity, 1).astype(np.int64),
        products.price[source],
    )


def _refund_extras(
    ctx: Context, headers: Headers, returns: np.ndarray, rng: np.random.Generator
) -> list[Lines]:
    """Discount lines (more often for trade and loyal customers) and manual corrections."""
    cat = ctx.catalogue
    profile = headers.profile[returns]
    trade = (profile == WHOLESALE) | (profile == LOYAL_HIGH_VALUE)
    discount_share = np.where(trade, TRADE_RETURN_DISCOUNT_SHARE, RETURN_DISCOUNT_SHARE)
    discount = returns[rng.random(returns.size) < discount_share]
    manual = returns[rng.random(returns.size) < RETURN_MANUAL_SHARE]
    code_d, code_m = cat.non_product("D"), cat.non_product("M")
    discount_amount, discount_spread = RETURN_DISCOUNT_AMOUNT
    manual_amount, manual_spread = RETURN_MANUAL_AMOUNT
    discount_price = np.round(
        rng.lognormal(np.log(discount_amount), discount_spread, discount.size), 2
    )
    manual_price = snap_prices(rng.lognormal(np.log(manual_amount), manual_spread, manual.size))
    return [
        Lines(discount, np.full(discount.size, code_d), np.full(discount.size, code_d),
              np.full(discount.size, -1), discount_price),
        Lines(manual, np.full(manual.size, code_m), np.full(manual.size, code_m),
              np.full(manual.size, -1), manual_price),
    ]  # fmt: skip


def _return_lines(
    ctx: Context,
    headers: Headers,
    products: Lines,
    first_line: np.ndarray,
    rng: np.random.Generator,
) -> Lines:
    """Lines of cancellation invoices: copies of the parent's lines with negative quantity,
    and some refunds' discount or manual correction lines."""
    returns = np.flatnonzero(headers.kind == RETURN)
    lines = _returned_lines(headers, returns, products, first_line, rng)
    return Lines.concat([lines, *_refund_extras(ctx, headers, returns, rng)])


# --------------------------------------------------------------------------------------------
# One-line invoices
# --------------------------------------------------------------------------------------------


def _huge_order_lines(ctx: Context, headers: Headers, rng: np.random.Generator) -> list[Lines]:
    """A huge quantity of a cheap or mid-priced product, and the same line reversed."""
    cat = ctx.catalogue
    huge = np.flatnonzero(headers.kind == HUGE)
    cancels = np.flatnonzero(headers.kind == HUGE_CANCEL)
    cancel_parent_rank = np.searchsorted(huge, headers.parent[cancels])
    cheap = cat.segment_products[0][: max(1, int(cat.segment_available[0][0]))]
    mid = cat.segment_products[1][: max(1, int(cat.segment_available[1][0]))]
    pool = np.concatenate([cheap, mid])
    product = pool[rng.integers(0, pool.size, huge.size)]
    quantity = rng.integers(*HUGE_ORDER_QUANTITY, huge.size)
    price = cat.price[product]
    return [
        Lines(huge, product, product, quantity, price),
        Lines(cancels, product[cancel_parent_rank], product[cancel_parent_rank],
              -quantity[cancel_parent_rank], price[cancel_parent_rank]),
    ]  # fmt: skip


def _adjustment_lines(ctx: Context, headers: Headers, rng: np.random.Generator) -> Lines:
    """Stock adjustments: packs of a product at price 0, negative unless found again; most
    without a description, the others with a note."""
    cat = ctx.catalogue
    adjust = np.flatnonzero(headers.kind == STOCK_ADJUSTMENT)
    launched = cat.launch_day <= 0
    product = np.flatnonzero(launched)[rng.integers(0, int(launched.sum()), adjust.size)]
    note = rng.integers(0, len(STOCK_NOTES), adjust.size)
    found = np.asarray(STOCK_NOTES)[note] == "found"
    unnoted = rng.random(adjust.size) < UNNOTED_ADJUSTMENT_SHARE
    text = np.where(unnoted, -1, cat.notes_offset + note)
    quantity = cat.pack[product] * rng.integers(*ADJUSTMENT_PACKS, adjust.size)
    quantity = np.where(found & (text >= 0), quantity, -quantity)
    return Lines(adjust, product, text, quantity, np.zeros(adjust.size))


def _fee_lines(ctx: Context, headers: Headers, rng: np.random.Generator) -> Lines:
    """Fee lines around their typical amount; quantity -1 on cancellations."""
    cat = ctx.catalogue
    fees = np.flatnonzero(headers.kind == FEE)
    fee_codes = np.array([cat.non_product(code) for code in FEES])
    typical = np.log(np.array([amount for _, _, amount in FEES.values()]))
    detail = headers.detail[fees]
    price = np.round(rng.lognormal(typical[detail], FEE_AMOUNT_SPREAD), 2)
    sign = np.where(headers.prefix[fees] == 1, -1, 1)
    code = fee_codes[detail]
    return Lines(fees, code, code, sign.astype(np.int64), price)


def _bad_debt_lines(ctx: Context, headers: Headers, rng: np.random.Generator) -> Lines:
    """The bad debt's adjustment lines: one amount, signed by each header."""
    bad_debt = np.flatnonzero(headers.kind == BAD_DEBT)
    typical, spread = BAD_DEBT_AMOUNT
    amount = np.round(rng.lognormal(np.log(typical), spread), 2)  # drawn in every chunk
    code = np.full(bad_debt.size, ctx.catalogue.non_product("B"))
    return Lines(bad_debt, code, code, np.ones(bad_debt.size, np.int64),
                 amount * headers.detail[bad_debt])  # fmt: skip


def _event_lines(ctx: Context, headers: Headers, rng: np.random.Generator) -> Lines:
    """Lines of the one-line invoices: huge orders and their reversal, adjustments, fees."""
    parts = _huge_order_lines(ctx, headers, rng)
    parts.append(_adjustment_lines(ctx, headers, rng))
    parts.append(_fee_lines(ctx, headers, rng))
    parts.append(_bad_debt_lines(ctx, headers, rng))
    return Lines.concat(parts)


def chunk_lines(ctx: Context, chunk: int, customers: Customers, headers: Headers) -> Lines:
    """Every line of a chunk, invoice by invoice (exact duplicates next to their original)."""
    rng = np.random.default_rng([ctx.config.seed, chunk + 1, 1])
    products, first_line = _product_lines(ctx, headers, customers, rng)
    returns = _return_lines(ctx, headers, products, first_line, rng)
    extras = _extra_lines(ctx, headers, products, rng)
    events = _event_lines(ctx, headers, rng)
    copies = 1 + (rng.random(products.header.size) < DUPLICATE_LINE_SHARE)
    repeated = np.repeat(np.arange(products.header.size), copies)
    return Lines.concat([products.take(repeated), extras, returns, events])

"""Planning a chunk of the demo log: its customers and every invoice header.

One header is one invoice number: a customer's purchase, a cancellation ('C…') reversing some
of its lines, a guest checkout, or a rare one-line invoice (a mistaken huge order and its
reversal, a stock adjustment, a fee, a bad debt written off). Headers say when, from which
country and how many lines; the lines themselves are drawn later (``lines.py``). Invoice
numbers are given in a first pass over the headers of every chunk, so that they grow day by
day across the whole log.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentation.demo.archetypes import (
    EVENING_SHOPPERS,
    GUEST,
    LINES_DISPERSION,
    LINES_PER_ORDER,
    METRE_BUYERS,
    MIN_ORDERS,
    ONE_TIME,
    ORDERS_PER_YEAR,
    REGULAR,
    RETURN_DAYS,
    RETURN_RATE,
    SHARES,
    START_HIGH,
    START_LOW,
    UK_SHARE,
    WHOLESALE,
)
from segmentation.demo.calendar import EVENING, sample_days, sample_minutes
from segmentation.demo.context import Context
from segmentation.demo.tuning import (
    ARCHETYPES,
    EVENING_ORDER_SHARE,
    EVENT_HOURS,
    FEES,
    FIRST_CUSTOMER_ID,
    FIRST_INVOICE_NUMBER,
    FULL_CANCELLATION_SHARE,
    GUEST_BIG_DISPERSION,
    GUEST_BIG_LINES,
    GUEST_BIG_SHARE,
    GUEST_ORDERS_PER_CUSTOMER_YEAR,
    GUEST_SINGLE_LINE_SHARE,
    GUEST_SMALL_DISPERSION,
    GUEST_SMALL_LINES,
    HUGE_CANCEL_MINUTES,
    HUGE_ORDERS_PER_CUSTOMER,
    MULTI_COUNTRY_SHARE,
    RETURNED_LINES_P,
    SAME_DAY_RETURN_MINUTES,
    SAME_DAY_RETURN_SHARE,
    STOCK_ADJUSTMENTS_PER_CUSTOMER_YEAR,
    WHALE_LINES,
    WHALE_ORDERS,
    WHALE_SHARE,
)

# Header kinds (one header = one invoice number).
PURCHASE, RETURN, GUEST_ORDER, HUGE, HUGE_CANCEL, STOCK_ADJUSTMENT, FEE, BAD_DEBT = range(8)
# Invoice number prefixes: none, 'C' for cancellations, 'A' for bad-debt adjustments.
PREFIXES_BY_CODE = ("", "C", "A")


@dataclass(frozen=True)
class Customers:
    """The customers of a chunk (chunk-local index)."""

    archetype: np.ndarray
    whale: np.ndarray
    country: np.ndarray
    ids: pa.Array
    evening: np.ndarray  # bool: also shops in the evening
    metre: np.ndarray  # bool: also buys products sold by the metre


@dataclass
class Headers:
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
    def concat(parts: list[Headers]) -> Headers:
        """The headers of ``parts`` one after the other."""
        return Headers(
            **{
                name: np.concatenate([getattr(p, name) for p in parts]).astype(np.int64)
                for name in Headers.__dataclass_fields__
            }
        )

    def __len__(self) -> int:
        return self.kind.size


def new_headers(kind: int, n: int, **columns: np.ndarray | int) -> Headers:
    """``n`` headers of one kind; columns not given take their 'none' value."""
    values = {name: np.zeros(n, dtype=np.int64) for name in Headers.__dataclass_fields__}
    values["kind"][:] = kind
    values["customer"][:] = -1
    values["profile"][:] = GUEST
    values["parent"][:] = -1
    values["n_lines"][:] = 1
    for name, value in columns.items():
        values[name][:] = value
    return Headers(**values)


def group_positions(counts: np.ndarray) -> np.ndarray:
    """0, 1, …, n-1 within each consecutive group of the given sizes."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total) - np.repeat(starts, counts)


def negative_binomial(
    rng: np.random.Generator, mean: np.ndarray, shape: float | np.ndarray
) -> np.ndarray:
    """Over-dispersed counts with the given means (0 where the mean is 0)."""
    mean = np.maximum(mean, 0.0)
    return rng.negative_binomial(shape, shape / (shape + mean))


def _allocate(shares: np.ndarray, n: int) -> np.ndarray:
    """Integer counts proportional to shares that sum to n (largest remainder)."""
    exact = shares / shares.sum() * n
    counts = np.floor(exact).astype(np.int64)
    remainder = n - counts.sum()
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:remainder]] += 1
    return counts


# --------------------------------------------------------------------------------------------
# Customers and their purchases
# --------------------------------------------------------------------------------------------


def _plan_customers(ctx: Context, chunk: int, rng: np.random.Generator) -> Customers:
    """The chunk's customers: archetypes in their exact shares, whales, home countries, and
    who also shops in the evening or buys by the metre."""
    first, n = ctx.chunk_customers(chunk)
    archetype = rng.permutation(np.repeat(np.arange(len(ARCHETYPES)), _allocate(SHARES, n)))
    whale = (archetype == WHOLESALE) & (rng.random(n) < WHALE_SHARE)
    is_uk = rng.random(n) < UK_SHARE[archetype]
    retail = rng.choice(ctx.foreign, size=n, p=ctx.foreign_weights[0])
    trade = rng.choice(ctx.foreign, size=n, p=ctx.foreign_weights[1])
    country = np.where(is_uk, 0, np.where(archetype == WHOLESALE, trade, retail))
    ids = pc.cast(pa.array(np.arange(first, first + n) + FIRST_CUSTOMER_ID), pa.string())
    evening = rng.random(n) < EVENING_SHOPPERS[archetype]
    metre = rng.random(n) < METRE_BUYERS[archetype]
    return Customers(archetype, whale, country, ids, evening, metre)


def _activity_windows(
    ctx: Context, archetype: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Per customer, the first and last day it may order (see ``tuning.Archetype``)."""
    cal = ctx.calendar
    n_days = cal.n_days
    n = archetype.size
    start_low, start_high = START_LOW[archetype], START_HIGH[archetype]
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
        if spec.quiet_days is not None:
            last[mask] = np.maximum(np.minimum(last[mask], n_days - 1 - spec.quiet_days), 0)
            first[mask] = np.minimum(first[mask], last[mask])
    # A window inside the Christmas closure reaches back to the last open day.
    first = np.minimum(first, cal.previous_open[last])
    return first, last


def _order_counts(
    ctx: Context,
    customers: Customers,
    first: np.ndarray,
    last: np.ndarray,
    chunk: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Per customer, the number of orders in its window (one for one-time buyers)."""
    cal = ctx.calendar
    archetype = customers.archetype
    rate = ORDERS_PER_YEAR[archetype] * np.where(customers.whale, WHALE_ORDERS, 1)
    mass = cal.cumulative[archetype, last + 1] - cal.cumulative[archetype, first]
    n_orders = np.where(rate > 0, 1 + rng.poisson(rate * mass / 365.25), 1)
    n_orders = np.maximum(n_orders, MIN_ORDERS[archetype])
    one_time = np.flatnonzero(archetype == ONE_TIME)
    if chunk == 0 and one_time.size:
        # Like the real log's customer 12346: a whole history that is one huge order and
        # its cancellation (added with the other huge orders).
        n_orders[one_time[0]] = 0
    return n_orders


def _order_days(
    ctx: Context,
    archetype: np.ndarray,
    n_orders: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer, position among its orders and day of every order, by customer then day.

    Regular archetypes spread their orders over their window (one per stretch), the others
    draw each day independently.
    """
    customer = np.repeat(np.arange(archetype.size), n_orders)
    position = group_positions(n_orders)
    total = n_orders[customer]
    regular = REGULAR[archetype[customer]]
    u = np.where(regular, (position + rng.random(customer.size)) / total, rng.random(total.size))
    profile = archetype[customer]
    day = sample_days(ctx.calendar, profile, first[customer], last[customer], u)
    # Orders stay grouped by customer (already in order), so positions keep their meaning.
    order = np.lexsort((day, customer))
    return customer[order], position, day[order]


def _multi_country_customers(
    customers: Customers, n_orders: np.ndarray, chunk: int, rng: np.random.Generator
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


def _order_countries(
    ctx: Context,
    customers: Customers,
    customer: np.ndarray,
    position: np.ndarray,
    n_orders: np.ndarray,
    chunk: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Country of every order: the customer's, except the later half of the orders of the
    few customers seen in a second country."""
    country = customers.country[customer].copy()
    movers = _multi_country_customers(customers, n_orders, chunk, rng)
    if movers.size:
        second = rng.choice(ctx.foreign, size=movers.size, p=ctx.foreign_weights[0])
        n_foreign = ctx.foreign.size
        second = np.where(second == customers.country[movers], 1 + second % n_foreign, second)
        lookup = np.full(customers.archetype.size, -1)
        lookup[movers] = second
        moved = (lookup[customer] >= 0) & (position >= (n_orders[customer] + 1) // 2)
        country[moved] = lookup[customer][moved]
    return country


def _plan_purchases(
    ctx: Context, customers: Customers, chunk: int, rng: np.random.Generator
) -> Headers:
    """Each customer's orders: when, how many lines, from which country."""
    archetype = customers.archetype
    first, last = _activity_windows(ctx, archetype, rng)
    n_orders = _order_counts(ctx, customers, first, last, chunk, rng)
    customer, position, day = _order_days(ctx, archetype, n_orders, first, last, rng)
    profile = archetype[customer]
    evening = customers.evening[customer] & (rng.random(customer.size) < EVENING_ORDER_SHARE)
    minute = sample_minutes(ctx.calendar, np.where(evening, EVENING, profile), rng)
    mean_lines = LINES_PER_ORDER[profile] * np.where(customers.whale[customer], WHALE_LINES, 1)
    n_lines = 1 + negative_binomial(rng, mean_lines - 1, LINES_DISPERSION[profile])
    country = _order_countries(ctx, customers, customer, position, n_orders, chunk, rng)
    return new_headers(
        PURCHASE,
        customer.size,
        customer=customer,
        profile=profile,
        day=day,
        minute=minute,
        country=country,
        n_lines=n_lines,
    )


# --------------------------------------------------------------------------------------------
# Returns, guest checkouts and rare events
# --------------------------------------------------------------------------------------------


def _plan_returns(ctx: Context, purchases: Headers, rng: np.random.Generator) -> Headers:
    """Cancellation invoices ('C…') reversing some lines of earlier orders."""
    cal = ctx.calendar
    profile = purchases.profile
    returned = np.flatnonzero(rng.random(len(purchases)) < RETURN_RATE[profile])
    parent_day = purchases.day[returned]
    same_day = rng.random(returned.size) < SAME_DAY_RETURN_SHARE
    mean_delay = RETURN_DAYS[profile[returned]]
    delay = np.where(same_day, 0, rng.geometric(1 / np.maximum(mean_delay, 1.0)))
    day = cal.next_open[np.minimum(parent_day + delay, cal.n_days - 1)]
    day = np.where(cal.is_open[day], day, parent_day)  # no open day left: the same day
    parent_minute = purchases.minute[returned]
    later = parent_minute + rng.integers(*SAME_DAY_RETURN_MINUTES, returned.size)
    later = np.minimum(later, 24 * 60 - 1)
    own_minute = sample_minutes(cal, profile[returned], rng)
    minute = np.where(day == parent_day, later, own_minute)
    parent_lines = purchases.n_lines[returned]
    k = np.minimum(rng.geometric(RETURNED_LINES_P, returned.size), parent_lines)
    k = np.where(rng.random(returned.size) < FULL_CANCELLATION_SHARE, parent_lines, k)
    return new_headers(
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


def _plan_guests(ctx: Context, n_customers: int, rng: np.random.Generator) -> Headers:
    """Guest checkouts: orders without a customer id, mostly from the UK web shop."""
    cal = ctx.calendar
    n = rng.poisson(n_customers * GUEST_ORDERS_PER_CUSTOMER_YEAR * cal.years)
    profile = np.full(n, GUEST)
    day = sample_days(cal, profile, np.zeros(n, np.int64), np.full(n, cal.n_days - 1),
                      rng.random(n))  # fmt: skip
    minute = sample_minutes(cal, profile, rng)
    kind = rng.random(n)
    small = 1 + negative_binomial(rng, np.full(n, GUEST_SMALL_LINES - 1), GUEST_SMALL_DISPERSION)
    big = 1 + negative_binomial(rng, np.full(n, GUEST_BIG_LINES - 1), GUEST_BIG_DISPERSION)
    n_lines = np.where(
        kind < GUEST_SINGLE_LINE_SHARE, 1, np.where(kind < 1 - GUEST_BIG_SHARE, small, big)
    )
    country = rng.choice(ctx.guest_countries, size=n, p=ctx.guest_weights)
    return new_headers(GUEST_ORDER, n, day=day, minute=minute, country=country, n_lines=n_lines)


def _store_days(ctx: Context, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Days (by the store's own calendar) and office-hour minutes of ``n`` one-line invoices."""
    cal = ctx.calendar
    profile = np.repeat(np.full(1, GUEST), n)
    first, last = np.zeros(n, np.int64), np.full(n, cal.n_days - 1)
    days = sample_days(cal, profile, first, last, rng.random(n))
    first_hour, hours = EVENT_HOURS
    return days, first_hour * 60 + rng.integers(0, hours * 60, n)


def _plan_huge_orders(
    ctx: Context, customers: Customers, chunk: int, rng: np.random.Generator
) -> list[Headers]:
    """Mistaken huge orders, each cancelled minutes later by a matching negative line (the
    first chunk's first one-time buyer has only that)."""
    n_customers = customers.archetype.size
    n_huge = rng.binomial(n_customers, HUGE_ORDERS_PER_CUSTOMER)
    huge_customers = rng.integers(0, n_customers, n_huge)
    one_time = np.flatnonzero(customers.archetype == ONE_TIME)
    if chunk == 0:
        first_customer = one_time[:1] if one_time.size else np.zeros(1, np.int64)
        huge_customers = np.concatenate([first_customer, huge_customers])
    n_huge = huge_customers.size
    if not n_huge:
        return []
    day, minute = _store_days(ctx, n_huge, rng)
    country = customers.country[huge_customers]
    profile = customers.archetype[huge_customers]
    common = dict(customer=huge_customers, profile=profile, day=day, country=country)
    cancel_minute = minute + rng.integers(*HUGE_CANCEL_MINUTES, n_huge)
    return [
        new_headers(HUGE, n_huge, minute=minute, **common),
        new_headers(
            HUGE_CANCEL,
            n_huge,
            minute=cancel_minute,
            parent=np.arange(n_huge),  # position among the HUGE headers; fixed in concat
            prefix=1,
            **common,
        ),
    ]


def _plan_fees(ctx: Context, n_customers: int, rng: np.random.Generator) -> list[Headers]:
    """Standalone fee and correction invoices, some of them cancellations (see ``FEES``)."""
    parts: list[Headers] = []
    for position, (rate, cancelled_share, _) in enumerate(FEES.values()):
        n_fee = rng.poisson(n_customers * rate * ctx.calendar.years)
        day, minute = _store_days(ctx, n_fee, rng)
        cancelled = rng.random(n_fee) < cancelled_share
        parts.append(
            new_headers(FEE, n_fee, day=day, minute=minute, prefix=cancelled, detail=position)
        )
    return parts


def _plan_events(
    ctx: Context, customers: Customers, chunk: int, rng: np.random.Generator
) -> list[Headers]:
    """Rare one-line invoices: huge mistaken orders, stock adjustments, fees, bad debt."""
    n_customers = customers.archetype.size
    parts = _plan_huge_orders(ctx, customers, chunk, rng)
    n_adjust = rng.poisson(n_customers * STOCK_ADJUSTMENTS_PER_CUSTOMER_YEAR * ctx.calendar.years)
    day, minute = _store_days(ctx, n_adjust, rng)
    parts.append(new_headers(STOCK_ADJUSTMENT, n_adjust, day=day, minute=minute))
    parts += _plan_fees(ctx, n_customers, rng)
    if chunk == 0:
        # One bad debt written off: +x then two -x adjustments a minute apart ('A' invoices).
        day, minute = _store_days(ctx, 1, rng)
        parts.append(
            new_headers(BAD_DEBT, 3, day=day[0], minute=minute[0] + np.arange(3), prefix=2,
                        detail=np.array([1, -1, -1]))
        )  # fmt: skip
    return parts


# --------------------------------------------------------------------------------------------
# The chunk and its invoice numbers
# --------------------------------------------------------------------------------------------


def plan_chunk(ctx: Context, chunk: int) -> tuple[Customers, Headers]:
    """Customers and every invoice header of one chunk (deterministic per seed and chunk)."""
    rng = np.random.default_rng([ctx.config.seed, chunk + 1, 0])
    customers = _plan_customers(ctx, chunk, rng)
    purchases = _plan_purchases(ctx, customers, chunk, rng)
    returns = _plan_returns(ctx, purchases, rng)
    guests = _plan_guests(ctx, customers.archetype.size, rng)
    events = _plan_events(ctx, customers, chunk, rng)
    headers = Headers.concat([purchases, returns, guests, *events])
    # Re-point HUGE_CANCEL parents at their HUGE header in the concatenated table.
    huge = np.flatnonzero(headers.kind == HUGE)
    cancels = headers.kind == HUGE_CANCEL
    headers.parent[cancels] = huge[headers.parent[cancels]]
    return customers, headers


def invoice_day_offsets(ctx: Context) -> np.ndarray:
    """First invoice number per (chunk, day): numbers grow day by day across all chunks."""
    counts = np.zeros((ctx.n_chunks, ctx.calendar.n_days), dtype=np.int64)
    for chunk in range(ctx.n_chunks):
        _, headers = plan_chunk(ctx, chunk)
        counts[chunk] = np.bincount(headers.day, minlength=ctx.calendar.n_days)
    day_major = counts.T.ravel()
    starts = FIRST_INVOICE_NUMBER + np.cumsum(day_major) - day_major
    return starts.reshape(ctx.calendar.n_days, ctx.n_chunks).T


def invoice_numbers(headers: Headers, day_offsets: np.ndarray) -> np.ndarray:
    """Invoice numbers: by day across the log, by time within the day inside a chunk."""
    order = np.lexsort((np.arange(len(headers)), headers.minute, headers.day))
    sorted_days = headers.day[order]
    first_of_day = np.searchsorted(sorted_days, sorted_days, side="left")
    numbers = np.empty(len(headers), dtype=np.int64)
    numbers[order] = day_offsets[sorted_days] + np.arange(len(headers)) - first_of_day
    return numbers

"""The demo's optional inputs: customer attributes and engagement events, by archetype.

Written after the log (:func:`write_demo_sources`), from the generated customers, their planted
archetypes and their orders, with a random stream of their own (the log is the same with or
without them). Engagement: every order has a session with product views and cart adds; each
archetype browses, reads and clicks its newsletter at its own rates
(``tuning.ENGAGEMENT_HABITS``), and a share of a subscriber's orders follow an email click.
Attributes: about a third of the customers are in the loyalty programme
(``tuning.ATTRIBUTE_COVERAGE``), with age band, household, income band, sign-up channel and kids
count drawn by archetype (``tuning.ATTRIBUTE_MIX``) and some answers left blank.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from segmentation.demo.config import DemoConfig
from segmentation.demo.tuning import (
    ATTRIBUTE_BLANK_SHARE,
    ATTRIBUTE_COVERAGE,
    ATTRIBUTE_MIX,
    BROWSE_BEFORE_FIRST_DAYS,
    EMAIL_EVERY_DAYS,
    EMAIL_ORDER_WINDOW_DAYS,
    ENGAGEMENT_HABITS,
    NUMERIC_ATTRIBUTES,
)
from segmentation.io.contract import (
    ARCHETYPES_TABLE,
    CUSTOMER_ATTRIBUTE_COLUMNS,
    CUSTOMER_ATTRIBUTES_TABLE,
    ENGAGEMENT_EVENT_COLUMNS,
    ENGAGEMENT_EVENTS_TABLE,
    RAW_SCHEMA,
    TRANSACTIONS_TABLE,
)

# Added to the seed so the inputs' stream never overlaps the log's.
SEED_OFFSET = 19_000_019
MINUTE_US = 60_000_000
DAY_US = 1440 * MINUTE_US
# The demo's own names for the event kinds (the identity mapping).
SESSION, VIEW, CART = "session", "view", "cart"
EMAIL_SENT, EMAIL_OPENED, EMAIL_CLICKED = "email_sent", "email_opened", "email_clicked"


@dataclass(frozen=True)
class SourcesSummary:
    """What ``write_demo_sources`` wrote."""

    attribute_rows: int
    customers_with_attributes: int
    events: int


@dataclass
class _Customers:
    ids: np.ndarray  # object (text ids)
    archetypes: np.ndarray  # object (names)
    first_us: np.ndarray  # first order, microseconds since the epoch
    last_us: np.ndarray


@dataclass
class _Events:
    """Parallel arrays of generated events."""

    customer: list[np.ndarray]
    at_us: list[np.ndarray]
    kind: list[np.ndarray]

    def add(self, customer: np.ndarray, at_us: np.ndarray, kind: str) -> None:
        self.customer.append(customer)
        self.at_us.append(at_us)
        self.kind.append(np.full(customer.size, kind, dtype=object))


def write_demo_sources(con: duckdb.DuckDBPyConnection, config: DemoConfig) -> SourcesSummary:
    """Replace the demo rows of ``raw.customer_attributes`` and ``raw.engagement_events`` with
    ones generated for the log in ``raw.transactions`` (written first by ``write_demo``)."""
    rng = np.random.default_rng(config.seed + SEED_OFFSET)
    customers = _read_customers(con)
    orders_customer, orders_us = _read_orders(con, customers)
    end_us = _epoch_us(dt.datetime.combine(config.end_date, dt.time(23, 59)))
    attributes = _attribute_table(rng, customers, f"{config.source_file}/customers")
    events = _event_table(rng, customers, orders_customer, orders_us, end_us, config)
    con.begin()
    try:
        for table, data in (
            (CUSTOMER_ATTRIBUTES_TABLE, attributes),
            (ENGAGEMENT_EVENTS_TABLE, events),
        ):
            con.execute(
                f"delete from {RAW_SCHEMA}.{table} where starts_with(source_file, ?)",
                [config.source_file],
            )
            con.register("demo_source_chunk", data)
            try:
                con.execute(f"insert into {RAW_SCHEMA}.{table} select * from demo_source_chunk")
            finally:
                con.unregister("demo_source_chunk")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    covered = len(set(attributes.column("customer_id").to_pylist()))
    return SourcesSummary(attributes.num_rows, covered, events.num_rows)


def _epoch_us(value: dt.datetime) -> int:
    return int(np.datetime64(value, "us").astype(np.int64))


def _read_customers(con: duckdb.DuckDBPyConnection) -> _Customers:
    rows = con.execute(
        f"""
        select a.customer_id, a.archetype,
            epoch_us(min(t.invoiced_at)), epoch_us(max(t.invoiced_at))
        from {RAW_SCHEMA}.{ARCHETYPES_TABLE} as a
        inner join {RAW_SCHEMA}.{TRANSACTIONS_TABLE} as t on t.customer_id = a.customer_id
        group by a.customer_id, a.archetype
        order by a.customer_id
        """
    ).fetchnumpy()
    names = list(rows)
    return _Customers(
        np.asarray(rows[names[0]], dtype=object),
        np.asarray(rows[names[1]], dtype=object),
        np.asarray(rows[names[2]], dtype=np.int64),
        np.asarray(rows[names[3]], dtype=np.int64),
    )


def _read_orders(
    con: duckdb.DuckDBPyConnection, customers: _Customers
) -> tuple[np.ndarray, np.ndarray]:
    """(customer index, order time) of every order that is not a cancellation."""
    rows = con.execute(
        f"""
        select customer_id, epoch_us(min(invoiced_at)) as at_us
        from {RAW_SCHEMA}.{TRANSACTIONS_TABLE}
        where customer_id is not null and not starts_with(invoice_id, 'C')
        group by customer_id, invoice_id
        order by customer_id, at_us
        """
    ).fetchnumpy()
    index = {customer: i for i, customer in enumerate(customers.ids)}
    known = np.array([c in index for c in rows["customer_id"]], dtype=bool)
    customer = np.array([index[c] for c in rows["customer_id"][known]], dtype=np.int64)
    return customer, np.asarray(rows["at_us"], dtype=np.int64)[known]


def _habit_array(customers: _Customers, attribute: str) -> np.ndarray:
    values = {name: getattr(habit, attribute) for name, habit in ENGAGEMENT_HABITS.items()}
    return np.array([values[a] for a in customers.archetypes], dtype=float)


# ----------------------------------------------------------------------------------- events


def _event_table(
    rng: np.random.Generator,
    customers: _Customers,
    orders_customer: np.ndarray,
    orders_us: np.ndarray,
    end_us: int,
    config: DemoConfig,
) -> pa.Table:
    events = _Events([], [], [])
    _order_sessions(rng, events, orders_customer, orders_us)
    _browsing(rng, events, customers, end_us)
    subscribed = rng.random(customers.ids.size) < _habit_array(customers, "subscribed")
    _newsletter(rng, events, customers, subscribed, end_us)
    _clicks_before_orders(rng, events, customers, subscribed, orders_customer, orders_us)
    customer = np.concatenate(events.customer)
    at_us = np.concatenate(events.at_us)
    kind = np.concatenate(events.kind)
    keep = at_us <= end_us
    order = np.lexsort((kind[keep], at_us[keep], customer[keep]))
    customer, at_us, kind = customer[keep][order], at_us[keep][order], kind[keep][order]
    n = customer.size
    columns = {
        "customer_id": pa.array(customers.ids[customer], pa.string()),
        "occurred_at": pa.array(at_us, pa.timestamp("us")),
        "event_type": pa.array(kind, pa.string()),
        "event_kind": pa.array(kind, pa.string()),
        "source_file": pa.array(np.full(n, f"{config.source_file}/engagement", dtype=object)),
        "source_row": pa.array(np.arange(1, n + 1), pa.int64()),
    }
    return pa.table(columns).select(list(ENGAGEMENT_EVENT_COLUMNS))


def _session_contents(
    rng: np.random.Generator,
    events: _Events,
    customer: np.ndarray,
    start_us: np.ndarray,
    views_mean: np.ndarray,
    cart_rate: np.ndarray,
) -> None:
    """A session event at each start, then its product views and cart adds a minute apart."""
    events.add(customer, start_us, SESSION)
    views = rng.poisson(views_mean)
    owner = np.repeat(np.arange(customer.size), views)
    step = np.arange(owner.size) - np.repeat(np.cumsum(views) - views, views) + 1
    view_us = start_us[owner] + step * MINUTE_US
    events.add(customer[owner], view_us, VIEW)
    carted = rng.random(owner.size) < cart_rate[owner]
    events.add(customer[owner][carted], view_us[carted] + 30_000_000, CART)


def _order_sessions(
    rng: np.random.Generator, events: _Events, orders_customer: np.ndarray, orders_us: np.ndarray
) -> None:
    """Every order is placed in a session that starts a quarter of an hour before it."""
    n = orders_customer.size
    _session_contents(
        rng, events, orders_customer, orders_us - 15 * MINUTE_US, np.full(n, 3.0), np.full(n, 0.5)
    )


def _browsing(
    rng: np.random.Generator, events: _Events, customers: _Customers, end_us: int
) -> None:
    """Sessions without an order, at the archetype's monthly rate over its browsing window."""
    after = np.array(
        [
            ENGAGEMENT_HABITS[a].browse_after_last_days
            if ENGAGEMENT_HABITS[a].browse_after_last_days is not None
            else 10**6
            for a in customers.archetypes
        ],
        dtype=np.int64,
    )
    start = customers.first_us - BROWSE_BEFORE_FIRST_DAYS * DAY_US
    stop = np.minimum(customers.last_us + after * DAY_US, end_us)
    months = np.maximum(stop - start, 0) / (30.4 * DAY_US)
    counts = rng.poisson(_habit_array(customers, "browse_sessions_per_month") * months)
    owner = np.repeat(np.arange(customers.ids.size), counts)
    at_us = start[owner] + (rng.random(owner.size) * (stop - start)[owner]).astype(np.int64)
    _session_contents(
        rng,
        events,
        owner,
        at_us,
        _habit_array(customers, "views_per_session")[owner],
        _habit_array(customers, "cart_per_view")[owner],
    )


def _newsletter(
    rng: np.random.Generator,
    events: _Events,
    customers: _Customers,
    subscribed: np.ndarray,
    end_us: int,
) -> None:
    """A send every EMAIL_EVERY_DAYS from the first order; opens and clicks at the habit's rates."""
    first_day = customers.first_us // DAY_US
    sends = np.where(subscribed, (end_us // DAY_US - first_day) // EMAIL_EVERY_DAYS + 1, 0)
    owner = np.repeat(np.arange(customers.ids.size), sends)
    nth = np.arange(owner.size) - np.repeat(np.cumsum(sends) - sends, sends)
    sent_us = (first_day[owner] + nth * EMAIL_EVERY_DAYS) * DAY_US + 9 * 60 * MINUTE_US
    _email_funnel(rng, events, customers, owner, sent_us)


def _email_funnel(
    rng: np.random.Generator,
    events: _Events,
    customers: _Customers,
    owner: np.ndarray,
    sent_us: np.ndarray,
) -> None:
    events.add(owner, sent_us, EMAIL_SENT)
    opened = rng.random(owner.size) < _habit_array(customers, "open_rate")[owner]
    open_us = sent_us[opened] + (rng.random(int(opened.sum())) * DAY_US).astype(np.int64)
    events.add(owner[opened], open_us, EMAIL_OPENED)
    clicked = rng.random(open_us.size) < _habit_array(customers, "click_rate")[owner[opened]]
    events.add(owner[opened][clicked], open_us[clicked] + 2 * MINUTE_US, EMAIL_CLICKED)


def _clicks_before_orders(
    rng: np.random.Generator,
    events: _Events,
    customers: _Customers,
    subscribed: np.ndarray,
    orders_customer: np.ndarray,
    orders_us: np.ndarray,
) -> None:
    """A share of subscribers' orders follow an email click (sent, opened and clicked)."""
    share = _habit_array(customers, "order_after_click")[orders_customer]
    follows = subscribed[orders_customer] & (rng.random(orders_customer.size) < share)
    owner = orders_customer[follows]
    lead_us = (rng.random(owner.size) * (EMAIL_ORDER_WINDOW_DAYS - 0.5) * DAY_US).astype(np.int64)
    click_us = orders_us[follows] - 20 * MINUTE_US - lead_us
    events.add(owner, click_us - 3 * 60 * MINUTE_US, EMAIL_SENT)
    events.add(owner, click_us - MINUTE_US, EMAIL_OPENED)
    events.add(owner, click_us, EMAIL_CLICKED)


# ------------------------------------------------------------------------------- attributes


def _attribute_table(rng: np.random.Generator, customers: _Customers, source_file: str) -> pa.Table:
    """Long rows (customer, attribute, value) for the customers in the loyalty programme."""
    coverage = np.array([ATTRIBUTE_COVERAGE[a] for a in customers.archetypes])
    member = np.flatnonzero(rng.random(customers.ids.size) < coverage)
    archetypes = customers.archetypes[member]
    parts: dict[str, list[np.ndarray]] = {"customer": [], "name": [], "value": [], "row": []}
    for name, (categories, weights) in ATTRIBUTE_MIX.items():
        values = np.empty(member.size, dtype=object)
        for archetype in np.unique(archetypes):
            rows = archetypes == archetype
            w = np.asarray(weights.get(str(archetype), weights["*"]), dtype=float)
            picks = rng.choice(len(categories), size=int(rows.sum()), p=w / w.sum())
            values[rows] = np.asarray(categories, dtype=object)[picks]
        answered = rng.random(member.size) >= ATTRIBUTE_BLANK_SHARE
        parts["customer"].append(member[answered])
        parts["name"].append(np.full(int(answered.sum()), name, dtype=object))
        parts["value"].append(values[answered])
        parts["row"].append(np.arange(member.size)[answered] + 1)
    customer = np.concatenate(parts["customer"])
    names = np.concatenate(parts["name"])
    n = customer.size
    types = np.where(np.isin(names, NUMERIC_ATTRIBUTES), "numeric", "categorical")
    columns = {
        "customer_id": pa.array(customers.ids[customer], pa.string()),
        "attribute_name": pa.array(names, pa.string()),
        "attribute_value": pa.array(np.concatenate(parts["value"]), pa.string()),
        "attribute_type": pa.array(types.astype(object), pa.string()),
        "as_of_date": pa.nulls(n, pa.date32()),
        "loaded_at": pa.nulls(n, pa.timestamp("us")),
        "source_file": pa.array(np.full(n, source_file, dtype=object), pa.string()),
        "source_row": pa.array(np.concatenate(parts["row"]), pa.int64()),
    }
    return pa.table(columns).select(list(CUSTOMER_ATTRIBUTE_COLUMNS))

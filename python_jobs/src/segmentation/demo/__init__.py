"""Deterministic demo data: a seeded transaction log shaped like a real online retailer's.

The generator writes ``raw.transactions`` in the input contract (see ``io/contract.py``) and
the planted truth ``raw.customer_archetypes``. Its model is the UCI Online Retail log: six-digit
invoice numbers that grow with time, ``C`` cancellations and ``A`` bad-debt adjustments,
stock codes such as ``85123A`` next to non-product codes (``POST``, ``DOT``, ``M``, ``C2``,
``D``, ``S``, ``BANK CHARGES``, ``AMAZONFEE``, ``CRUK``, ``gift_0001_10``), upper-case
descriptions, the United Kingdom dominant among countries, a November peak and the shop closed
over Christmas. The real log's quirks are planted on purpose: cancellations (including a
mistaken huge order reversed by a matching negative line), guest checkouts without a customer
id, non-product lines, zero prices, stock adjustments with negative quantities, exact duplicate
lines, a handful of customers seen in two countries and a few wholesale "whales". So are the
traits that mislead features on real logs: most customers never order in the evening and many
never at weekends (zero-inflated timing shares), and some customers of several archetypes buy
ribbon and twine by the metre (hundreds of units per line at pennies a unit).

Every customer is drawn from one behavioural archetype (``tuning.ARCHETYPES``) with its own
order cadence, basket size, price level, recency, seasonality, weekday and hour habits and
return rate. Archetypes differ in the features that define segments (value, frequency, recency,
tenure, basket value, breadth of products, cadence), so that a clustering on them can recover
the archetypes; the timing habits and the by-the-metre buying only describe them.

Scale: customers are generated in chunks of ``tuning.CHUNK_CUSTOMERS`` with numpy (one random
stream per chunk, derived from the seed), turned into Arrow tables and inserted chunk by chunk,
so the whole log is never held in memory. Invoice numbers are allocated in a cheap first pass
over the invoice headers of every chunk, so that they increase day by day across the whole log.
The same configuration always gives byte-identical tables.

Modules: ``tuning`` (every share, rate, profile, price and archetype parameter), ``config``
(``DemoConfig``), ``archetypes`` (parameters as arrays by archetype code), ``calendar``,
``catalogue``, ``context`` (what every chunk shares), ``orders`` (customers and invoice
headers), ``lines`` (the invoices' lines) and ``writing`` (Arrow tables, the warehouse).
"""

from __future__ import annotations

from segmentation.demo.archetypes import ARCHETYPE_NAMES
from segmentation.demo.config import DemoConfig
from segmentation.demo.tuning import (
    ARCHETYPES,
    DEFAULT_END_DATE,
    FIRST_CUSTOMER_ID,
    FIRST_INVOICE_NUMBER,
    NON_PRODUCTS,
)
from segmentation.demo.writing import DemoSummary, generate_chunks, write_demo

__all__ = [
    "ARCHETYPES",
    "ARCHETYPE_NAMES",
    "DEFAULT_END_DATE",
    "FIRST_CUSTOMER_ID",
    "FIRST_INVOICE_NUMBER",
    "NON_PRODUCTS",
    "DemoConfig",
    "DemoSummary",
    "generate_chunks",
    "write_demo",
]

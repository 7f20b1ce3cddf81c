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
lines, a handful of customers seen in two countries and a few wholesale "whales".

Every customer is drawn from one behavioural archetype (``tuning.ARCHETYPES``) with its own
order cadence, basket size, price level, recency, seasonality, weekday and hour habits and
return rate, so that a clustering on RFM plus behavioural features can recover them.

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

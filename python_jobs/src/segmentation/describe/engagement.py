"""What engagement and customer attributes add to a persona: channel choice and who they are.

Reads the long profiles of the optional inputs (``fct_segment_engagement_profiles``: segment x
engagement feature with lift and coverage; ``fct_segment_attribute_profiles``: segment x
attribute x category with share, lift and coverage). Both are empty without the optional
inputs, and then nothing here changes a persona.

- **Channel** (:func:`segment_channel`): ``email`` when the segment's email open or click rate,
  or its share of orders after an email click, is at least :data:`CHANNEL_LIFT` times the
  average (and beats its site lift); ``site`` when its sessions per month are; ``neither`` when
  its sessions and every email rate are at most ``1 / CHANNEL_LIFT`` of the average. Otherwise
  the channel does not distinguish the segment and the persona says nothing about it. A
  feature only counts when at least :data:`MIN_COVERAGE` of the segment has a value.
- **Who they are** (:func:`distinctive_categories`): attribute categories whose share in the
  segment is at least :data:`ATTRIBUTE_LIFT` times their share among all customers, held by at
  least :data:`MIN_CATEGORY_SHARE` of the segment's customers with a value, with at least
  :data:`MIN_CUSTOMERS_WITH_VALUE` of them: the largest lifts first, one per attribute, at most
  :data:`CITED_CATEGORIES`.

Every figure cited becomes a persona claim (``claim_source`` ``engagement`` or ``attribute``,
statistic ``lift``) that a dbt test recomputes from the customer tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from segmentation.config.segmentation import ENGAGEMENT_FEATURE_COLUMNS

# An engagement feature distinguishes a segment at this lift (or below its inverse).
CHANNEL_LIFT = 1.25
# Share of the segment with a value before a feature or attribute may speak for it.
MIN_COVERAGE = 0.2
ATTRIBUTE_LIFT = 1.3
MIN_CATEGORY_SHARE = 0.15
MIN_CUSTOMERS_WITH_VALUE = 20
CITED_CATEGORIES = 2

EMAIL_FEATURES: tuple[str, ...] = (
    "email_click_rate",
    "email_open_rate",
    "orders_after_email_click_share",
)
SITE_FEATURES: tuple[str, ...] = ("sessions_per_month",)
# Profiled engagement features (the order of the dbt macro engagement_profile_features).
ENGAGEMENT_FEATURES: tuple[str, ...] = ENGAGEMENT_FEATURE_COLUMNS
ENGAGEMENT_LABELS: dict[str, str] = {
    "days_since_last_visit": "days since the last visit",
    "sessions_per_month": "site visits per month",
    "views_per_order": "product views per order",
    "cart_to_order_rate": "orders per cart add",
    "email_open_rate": "email opens",
    "email_click_rate": "email clicks",
    "orders_after_email_click_share": "orders after an email click",
}
CHANNEL_ACTIONS: dict[str, str] = {
    "email": "Reach them by email: they read and click it, and their orders follow the clicks",
    "site": (
        "Reach them on the site (recommendations, banners, retargeting): they visit often "
        "while email does little"
    ),
    "neither": (
        "Neither email nor the site reaches them: try direct mail, SMS or paid media, "
        "and keep email pressure low"
    ),
}
EMAIL, SITE, NEITHER = "email", "site", "neither"


@dataclass(frozen=True)
class Evidence:
    """A figure a persona cites: a feature (or ``attribute=category``) and its lift."""

    source: str  # engagement or attribute
    feature_name: str
    lift: float
    comparison: str  # >= or <=
    threshold: float
    share: float | None = None
    coverage: float | None = None


@dataclass(frozen=True)
class Channel:
    """The channel that distinguishes a segment, with the lifts that show it."""

    name: str
    evidence: tuple[Evidence, ...]


def _usable(rows: pd.DataFrame, features: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """feature -> (lift, coverage) of the rows with a lift and enough coverage."""
    usable: dict[str, tuple[float, float]] = {}
    for row in rows.itertuples(index=False):
        lift = _number(row.lift)
        coverage = _number(row.coverage)
        if row.feature_name in features and lift is not None and (coverage or 0) >= MIN_COVERAGE:
            usable[str(row.feature_name)] = (lift, float(coverage or 0))
    return usable


def segment_channel(rows: pd.DataFrame) -> Channel | None:
    """The channel of one segment's engagement profile rows, or None when none stands out."""
    email = _usable(rows, EMAIL_FEATURES)
    site = _usable(rows, SITE_FEATURES)
    best_email = max(email.items(), key=lambda item: item[1][0], default=None)
    best_site = max(site.items(), key=lambda item: item[1][0], default=None)
    site_lift = best_site[1][0] if best_site else 0.0
    if best_email and best_email[1][0] >= CHANNEL_LIFT and best_email[1][0] >= site_lift:
        above = [(f, v) for f, v in email.items() if v[0] >= CHANNEL_LIFT]
        return Channel(EMAIL, tuple(_evidence(f, v, ">=", CHANNEL_LIFT) for f, v in above))
    if best_site and site_lift >= CHANNEL_LIFT:
        return Channel(SITE, (_evidence(best_site[0], best_site[1], ">=", CHANNEL_LIFT),))
    low = 1.0 / CHANNEL_LIFT
    everything = {**site, **email}
    if site and email and all(v[0] <= low for v in everything.values()):
        return Channel(
            NEITHER, tuple(_evidence(f, v, "<=", low) for f, v in sorted(everything.items()))
        )
    return None


def distinctive_categories(rows: pd.DataFrame) -> list[Evidence]:
    """The attribute categories that set one segment apart (see the module docstring)."""
    candidates: list[Evidence] = []
    for row in rows.itertuples(index=False):
        lift, share = _number(row.lift), _number(row.category_share)
        coverage = _number(row.coverage)
        if (
            lift is None
            or share is None
            or lift < ATTRIBUTE_LIFT
            or share < MIN_CATEGORY_SHARE
            or (coverage or 0) < MIN_COVERAGE
            or int(row.customers_with_attribute) < MIN_CUSTOMERS_WITH_VALUE
        ):
            continue
        name = f"{row.attribute_name}={row.attribute_category}"
        candidates.append(
            Evidence("attribute", name, lift, ">=", ATTRIBUTE_LIFT, share, float(coverage or 0))
        )
    candidates.sort(key=lambda e: (-e.lift, e.feature_name))
    chosen: list[Evidence] = []
    for evidence in candidates:
        attribute = evidence.feature_name.split("=", 1)[0]
        if all(c.feature_name.split("=", 1)[0] != attribute for c in chosen):
            chosen.append(evidence)
    return chosen[:CITED_CATEGORIES]


def channel_sentence(channel: Channel) -> str:
    """E.g. ``Channel: email (email clicks 2.4× the average, email opens 1.9×).``"""
    parts = [
        f"{ENGAGEMENT_LABELS.get(e.feature_name, e.feature_name)} {e.lift:.1f}×"
        for e in channel.evidence
    ]
    if channel.name == NEITHER:
        return f" Channel: neither email nor site ({', '.join(parts)} the average)."
    return f" Channel: {channel.name} ({', '.join(parts)} the average)."


def attribute_sentence(cited: list[Evidence]) -> str:
    """E.g. ``Where known (63% of the segment): age band 65+ 19% (2.4× the average share).``"""
    if not cited:
        return ""
    coverage = min(e.coverage or 0 for e in cited)
    parts = [
        f"{name.replace('_', ' ')} {category} {100 * (e.share or 0):.0f}% "
        f"({e.lift:.1f}× the average share)"
        for e in cited
        for name, category in [e.feature_name.split("=", 1)]
    ]
    return f" Where known (at least {100 * coverage:.0f}% of the segment): {'; '.join(parts)}."


def _evidence(
    feature: str, value: tuple[float, float], comparison: str, threshold: float
) -> Evidence:
    return Evidence("engagement", feature, value[0], comparison, threshold, coverage=value[1])


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number

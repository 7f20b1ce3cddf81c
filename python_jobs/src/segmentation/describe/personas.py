"""Personas: a name, a description, a reason and a recommended action for every segment.

Deterministic and rule-based, from the segment profiles of profiles.py. The rules are data: the
seed ``seeds/persona_rules.csv`` (documented in ``seeds/_seeds.yml``), one row per persona:

- ``rule_priority``: rules are tried in this order (1 first);
- ``persona_name``: unique among the rules;
- ``conditions``: ``<feature> <statistic> <comparison> <number>`` joined by `` and `` (empty: the
  rule fits every segment), e.g. ``monetary_amount lift >= 2 and recency_days lift <= 1.1``.
  Statistics: ``mean``, ``median`` (original unit), ``lift`` (segment mean / population mean),
  ``z_score`` and ``segment_rank`` (1 = highest mean of all segments); comparisons
  ``>= <= > < =``. A condition on a statistic without a value (NULL) does not hold;
- ``pick_feature``, ``pick_statistic``, ``pick_order`` (``highest``/``lowest``): when several
  segments meet the conditions, the rule takes the one with the highest (lowest) value;
- ``persona_summary`` opens the description; ``recommended_action`` is what marketing should do.

Names and descriptions come from what defines the segments: only the features whose
``feature_role`` in the profiles is ``defining`` (the model's inputs) can name or describe a
segment; a rule whose conditions or pick feature use a describing-only feature (timing shares,
cancellations, unit-based features with the default roles) is skipped, so no persona is named
after something that did not make the segment.

Assignment (:func:`assign_personas`): each usable rule in priority order takes the best of the
segments not yet named that meet its conditions, so every name is used at most once. A segment
no rule takes is named after its most distinctive defining features ("Frequent, high-spending
shoppers"), made unique with its segment id if need be.

The description is one sentence: the persona summary, then up to :data:`DESCRIBED_FEATURES`
defining features compared with the average customer (the rule's pick feature first, then the
most distinctive ones: largest ``|z_score|``, at least :data:`MIN_DISTINCTIVE_Z`), then the
typical order value and cadence in plain units. Every statement a persona makes (each rule
condition, the direction of each described feature) is also returned as a row of
:func:`persona_claims`, which a dbt test recomputes from the published customer tables.

With the optional inputs (:class:`OptionalProfiles`: the segment engagement and attribute
profiles), a persona also says which channel reaches the segment (email, site or neither) and
who its customers are, where that distinguishes the segment (see ``describe/engagement.py``);
its action adds how to reach them, and every figure cited is a claim. Without them (empty
profiles) nothing changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from segmentation.describe.engagement import (
    CHANNEL_ACTIONS,
    Evidence,
    attribute_sentence,
    channel_sentence,
    distinctive_categories,
    segment_channel,
)
from segmentation.describe.persona_rules import (
    STATISTIC_WORDS,
    STATISTICS,
    Condition,
    PersonaRule,
    format_number,
)
from segmentation.describe.profiles import DEFINING, FEATURES_BY_NAME, PROFILE_FEATURE_NAMES
from segmentation.io.tables import conform
from segmentation.io.values import optional_float

# The description names at most this many features, each at least this distinctive.
DESCRIBED_FEATURES = 3
MIN_DISTINCTIVE_Z = 0.1
# The rule's pick feature leads the description unless it is this close to average (its
# direction would then be noise).
LEAD_MIN_Z = 0.01
# For segments no rule names.
UNMATCHED_SUMMARY = "A group no persona rule describes"
UNMATCHED_ACTION = (
    "Review the profile before targeting; until then treat these customers like the average "
    "customer and watch where they move"
)
# Adjective for a feature well above (+1) or below (-1) average, for names of unmatched segments.
ADJECTIVES: dict[tuple[str, int], str] = {
    ("recency_days", 1): "Long-absent",
    ("recency_days", -1): "Recently active",
    ("frequency_orders", 1): "Frequent",
    ("frequency_orders", -1): "Infrequent",
    ("monetary_amount", 1): "High-spending",
    ("monetary_amount", -1): "Low-spending",
    ("tenure_days", 1): "Long-standing",
    ("tenure_days", -1): "Recently acquired",
    ("avg_order_value", 1): "Big-ticket",
    ("avg_order_value", -1): "Small-ticket",
    ("avg_items_per_order", 1): "Bulk-buying",
    ("avg_items_per_order", -1): "Few-item",
    ("avg_unit_price", 1): "Premium",
    ("avg_unit_price", -1): "Bargain",
    ("distinct_products", 1): "Wide-range",
    ("distinct_products", -1): "Narrow-range",
    ("cancellation_rate", 1): "Returns-prone",
    ("cancellation_rate", -1): "Low-returns",
    ("mean_days_between_orders", 1): "Slow-cadence",
    ("mean_days_between_orders", -1): "Fast-cadence",
    ("weekend_order_share", 1): "Weekend",
    ("weekend_order_share", -1): "Weekday",
    ("evening_order_share", 1): "Evening",
    ("evening_order_share", -1): "Daytime",
    ("active_months", 1): "Year-round",
    ("active_months", -1): "Short-lived",
    ("country_count", 1): "Multi-country",
    ("country_count", -1): "Single-country",
    ("q4_revenue_share", 1): "Year-end",
    ("q4_revenue_share", -1): "Off-season",
}


@dataclass
class Persona:
    """The persona of one segment, with every statement it makes as a claim."""

    segment_id: int
    name: str
    rule: PersonaRule | None
    description: str
    reason: str
    action: str
    typical_order_value: float
    typical_orders: float
    typical_days_between_orders: float
    cadence: str | None
    distinctive: tuple[str, ...]
    claims: list[dict] = field(default_factory=list)


class SegmentProfile:
    """Look-ups into the profile table for one segment."""

    def __init__(self, segment_id: int, rows: pd.DataFrame) -> None:
        self.segment_id = segment_id
        self._rows = {row["feature_name"]: row for row in rows.to_dict("records")}
        self.defining = frozenset(
            name
            for name, row in self._rows.items()
            if row.get("feature_role", DEFINING) == DEFINING
        )

    def value(self, feature: str, statistic: str) -> float | None:
        """The statistic of a feature, or None when the profile has no value."""
        row = self._rows.get(feature)
        if row is None:
            return None
        value = row.get(STATISTICS[statistic])
        if value is None or pd.isna(value):
            return None
        return float(value)

    def distinctive_features(self) -> list[tuple[str, float, float | None]]:
        """(feature, z_score, lift) of the defining features by ``|z_score|``, most distinctive
        first."""
        rows = [
            row
            for name, row in self._rows.items()
            if name in self.defining
            and row.get("z_score") is not None
            and not pd.isna(row.get("z_score"))
        ]
        rows.sort(key=lambda row: (-abs(row["z_score"]), _feature_order(row["feature_name"])))
        return [
            (row["feature_name"], float(row["z_score"]), optional_float(row.get("lift")))
            for row in rows
        ]


@dataclass(frozen=True)
class OptionalProfiles:
    """The segment profiles of the optional inputs (fct_segment_engagement_profiles and
    fct_segment_attribute_profiles); None or empty when the input is absent."""

    engagement: pd.DataFrame | None = None
    attributes: pd.DataFrame | None = None

    def rows(self, table: pd.DataFrame | None, segment_id: int) -> pd.DataFrame | None:
        if table is None or table.empty:
            return None
        return table[table["segment_id"].astype(int) == segment_id]


def assign_personas(
    profiles: pd.DataFrame,
    rules: Sequence[PersonaRule],
    optional: OptionalProfiles | None = None,
) -> list[Persona]:
    """The persona of every segment in ``profiles`` (see the module docstring), by segment id."""
    personas = _assign_from_profiles(profiles, rules)
    if optional is not None:
        for persona in personas:
            _add_optional_inputs(persona, optional)
    return personas


def _add_optional_inputs(persona: Persona, optional: OptionalProfiles) -> None:
    """Channel and attributes that distinguish the segment: in the description, the action and
    the claims."""
    evidence: list[Evidence] = []
    engagement = optional.rows(optional.engagement, persona.segment_id)
    channel = segment_channel(engagement) if engagement is not None else None
    if channel is not None:
        persona.description += channel_sentence(channel)
        persona.action = f"{persona.action}. {CHANNEL_ACTIONS[channel.name]}"
        evidence.extend(channel.evidence)
    attributes = optional.rows(optional.attributes, persona.segment_id)
    cited = distinctive_categories(attributes) if attributes is not None else []
    persona.description += attribute_sentence(cited)
    evidence.extend(cited)
    persona.claims.extend(
        {
            "segment_id": persona.segment_id,
            "persona_name": persona.name,
            "claim_source": item.source,
            "feature_name": item.feature_name,
            "statistic": "lift",
            "comparison": item.comparison,
            "threshold": item.threshold,
            "observed_value": item.lift,
        }
        for item in evidence
    )


def _assign_from_profiles(profiles: pd.DataFrame, rules: Sequence[PersonaRule]) -> list[Persona]:
    """Names, descriptions and claims from the customer feature profiles alone."""
    segments = _segment_profiles(profiles)
    defining = _defining_features(profiles)
    names: dict[int, tuple[str, PersonaRule | None, int]] = {}
    for rule in sorted(rules, key=lambda item: item.priority):
        if not uses_only(rule, defining):
            continue
        remaining = [s for s in segments.values() if s.segment_id not in names]
        eligible = [s for s in remaining if _meets(s, rule.conditions)]
        if eligible:
            chosen = _pick(eligible, rule)
            names[chosen.segment_id] = (rule.name, rule, len(eligible))
    taken = {name for name, _, _ in names.values()} | {rule.name for rule in rules}
    for segment in segments.values():
        if segment.segment_id not in names:
            name = _unmatched_name(segment, taken)
            taken.add(name)
            names[segment.segment_id] = (name, None, 0)
    return [_persona(segments[segment_id], *names[segment_id]) for segment_id in sorted(segments)]


def segment_personas(
    profiles: pd.DataFrame,
    rules: Sequence[PersonaRule],
    optional: OptionalProfiles | None = None,
) -> pd.DataFrame:
    """One row per segment (ml_segment_personas)."""
    rows = [
        {
            "segment_id": persona.segment_id,
            "persona_name": persona.name,
            "persona_rule_priority": persona.rule.priority if persona.rule else None,
            "persona_description": persona.description,
            "persona_reason": persona.reason,
            "recommended_action": persona.action,
            "typical_order_value": persona.typical_order_value,
            "typical_orders": persona.typical_orders,
            "typical_days_between_orders": persona.typical_days_between_orders,
            "cadence_description": persona.cadence,
            "distinctive_features": ", ".join(persona.distinctive) or None,
        }
        for persona in assign_personas(profiles, rules, optional)
    ]
    return conform(rows, "ml_segment_personas")


def persona_claims(
    profiles: pd.DataFrame,
    rules: Sequence[PersonaRule],
    optional: OptionalProfiles | None = None,
) -> pd.DataFrame:
    """One row per statement a persona makes about its segment (ml_segment_persona_claims).

    ``claim_source`` is ``rule`` (a condition of the persona's rule), ``description`` (a
    feature the description calls above or below average: its z-score is > 0 or < 0), or
    ``engagement`` / ``attribute`` (a lift of the optional inputs the description cites;
    attribute claims name ``attribute=category``).
    """
    rows = [
        claim for persona in assign_personas(profiles, rules, optional) for claim in persona.claims
    ]
    return conform(rows, "ml_segment_persona_claims")


def uses_only(rule: PersonaRule, features: frozenset[str]) -> bool:
    """Whether every feature the rule reads (conditions and pick feature) is in ``features``."""
    return rule.pick_feature in features and all(c.feature in features for c in rule.conditions)


def _defining_features(profiles: pd.DataFrame) -> frozenset[str]:
    """The features the profiles mark as defining (all of them without a role column)."""
    if "feature_role" not in profiles.columns:
        return frozenset(profiles["feature_name"])
    return frozenset(profiles.loc[profiles["feature_role"] == DEFINING, "feature_name"])


def _segment_profiles(profiles: pd.DataFrame) -> dict[int, SegmentProfile]:
    needed = ["segment_id", "feature_name", *STATISTICS.values()]
    missing = [name for name in needed if name not in profiles.columns]
    if missing:
        raise ValueError(f"segment profiles have no column {', '.join(missing)}")
    return {
        int(segment_id): SegmentProfile(int(segment_id), rows)
        for segment_id, rows in profiles.groupby("segment_id", sort=True)
    }


def _meets(segment: SegmentProfile, conditions: Sequence[Condition]) -> bool:
    return all(c.holds(segment.value(c.feature, c.statistic)) for c in conditions)


def _pick(eligible: list[SegmentProfile], rule: PersonaRule) -> SegmentProfile:
    """The eligible segment with the highest (lowest) pick value; no value last, ties: lowest id."""
    sign = -1.0 if rule.pick_order == "highest" else 1.0

    def key(segment: SegmentProfile) -> tuple[int, float, int]:
        value = segment.value(rule.pick_feature, rule.pick_statistic)
        return (value is None, sign * value if value is not None else 0.0, segment.segment_id)

    return min(eligible, key=key)


def _unmatched_name(segment: SegmentProfile, taken: set[str]) -> str:
    adjectives = [
        ADJECTIVES[(feature, 1 if z > 0 else -1)]
        for feature, z, _ in segment.distinctive_features()
        if abs(z) >= MIN_DISTINCTIVE_Z and (feature, 1 if z > 0 else -1) in ADJECTIVES
    ][:DESCRIBED_FEATURES]
    candidates = [
        ", ".join([adjectives[0], *(a.lower() for a in adjectives[1:n])]) + " shoppers"
        for n in range(1, len(adjectives) + 1)
    ]
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    base = candidates[0] if candidates else "Unprofiled shoppers"
    name, extra = f"{base} (segment {segment.segment_id})", 1
    while name in taken:  # only if a rule is itself called like this
        extra += 1
        name = f"{base} (segment {segment.segment_id}, {extra})"
    return name


# --------------------------------------------------------------------------------------------
# Wording
# --------------------------------------------------------------------------------------------


def _persona(
    segment: SegmentProfile, name: str, rule: PersonaRule | None, eligible_count: int
) -> Persona:
    described = _described_features(segment, rule)
    order_value = _nan_if_none(segment.value("avg_order_value", "median"))
    orders = _nan_if_none(segment.value("frequency_orders", "median"))
    gap = _nan_if_none(segment.value("mean_days_between_orders", "median"))
    cadence = cadence_description(orders, gap)
    summary = rule.summary if rule else UNMATCHED_SUMMARY
    description = describe(summary, described, order_value, cadence)
    claims = [
        _claim(segment, name, "rule", c.feature, c.statistic, c.comparison, c.threshold)
        for c in (rule.conditions if rule else ())
    ]
    claims += [
        _claim(segment, name, "description", feature, "z_score", ">" if z > 0 else "<", 0.0)
        for feature, z, _ in described
    ]
    return Persona(
        segment_id=segment.segment_id,
        name=name,
        rule=rule,
        description=description,
        reason=_reason(segment, name, rule, eligible_count, described),
        action=rule.action if rule else UNMATCHED_ACTION,
        typical_order_value=order_value,
        typical_orders=orders,
        typical_days_between_orders=gap,
        cadence=cadence,
        distinctive=tuple(feature for feature, _, _ in described),
        claims=claims,
    )


def _described_features(
    segment: SegmentProfile, rule: PersonaRule | None
) -> list[tuple[str, float, float | None]]:
    """The rule's pick feature first (what the persona is about), then the most distinctive."""
    ranked = segment.distinctive_features()
    lead = [
        item
        for item in ranked
        if rule is not None and item[0] == rule.pick_feature and abs(item[1]) >= LEAD_MIN_Z
    ]
    rest = [item for item in ranked if abs(item[1]) >= MIN_DISTINCTIVE_Z and item not in lead]
    return (lead + rest)[:DESCRIBED_FEATURES]


def describe(
    summary: str,
    described: Sequence[tuple[str, float, float | None]],
    typical_order_value: float,
    cadence: str | None,
) -> str:
    """The one-sentence description of a segment.

    ``described`` holds (feature, z_score, lift) of the features to mention, in order.
    """
    phrases = [compare_to_average(feature, z, lift) for feature, z, lift in described]
    body = _join(phrases) if phrases else "close to the average customer on every feature"
    typical = []
    if not math.isnan(typical_order_value):
        typical.append(f"typical order {format_amount(typical_order_value)}")
    if cadence:
        typical.append(cadence)
    tail = f"; {', '.join(typical)}" if typical else ""
    return f"{summary}: {body}{tail}."


def compare_to_average(feature: str, z_score: float, lift: float | None) -> str:
    """E.g. ``net revenue 2.9× the average`` or ``orders 35% below average``."""
    info = FEATURES_BY_NAME.get(feature)
    label = info.label if info else feature.replace("_", " ")
    if lift is None or math.isnan(lift) or lift < 0:
        return f"{label} {'above' if z_score > 0 else 'below'} average"
    if z_score < 0 and lift == 0:
        return f"{label} zero"
    if z_score > 0 and lift >= 1.95:
        return f"{label} {lift:.1f}× the average"
    percent = round(abs(lift - 1.0) * 100)
    word = "above" if z_score > 0 else "below"
    if percent == 0:
        return f"{label} slightly {word} average"
    return f"{label} {percent}% {word} average"


def cadence_description(typical_orders: float, typical_days_between_orders: float) -> str | None:
    """Cadence in plain units: ``orders every 41 days``, ``mostly a single order`` or None."""
    if math.isnan(typical_orders):
        return None
    if typical_orders <= 1:
        return "mostly a single order"
    if math.isnan(typical_days_between_orders):
        return f"about {typical_orders:.0f} orders each"
    days = max(1, round(typical_days_between_orders))
    return f"orders every {days} day{'s' if days != 1 else ''}"


def format_amount(value: float) -> str:
    """Money for people: ``1,387``, ``324``, ``27.83``."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _reason(
    segment: SegmentProfile,
    name: str,
    rule: PersonaRule | None,
    eligible_count: int,
    described: Sequence[tuple[str, float, float | None]],
) -> str:
    if rule is None:
        features = [_label(feature) for feature, _, _ in described]
        return (
            "No persona rule fits this segment (rules are tried in priority order and each "
            "names one segment); named after its most distinctive features"
            + (f": {_join(features)}." if features else ".")
        )
    checks = [
        f"{_label(c.feature)} {STATISTIC_WORDS[c.statistic]} is "
        f"{format_number(segment.value(c.feature, c.statistic))} "
        f"({c.comparison} {format_number(c.threshold)})"
        for c in rule.conditions
    ]
    met = f"meets {'; '.join(checks)}" if checks else "is the catch-all rule"
    pick = f"{rule.pick_order} {_label(rule.pick_feature)} {STATISTIC_WORDS[rule.pick_statistic]}"
    among = (
        "the only segment left that qualifies"
        if eligible_count == 1
        else f"the {pick} of the {eligible_count} segments left that qualify"
    )
    return f"Persona rule {rule.priority} ({name}): {met}; {among}."


def _claim(
    segment: SegmentProfile,
    name: str,
    source: str,
    feature: str,
    statistic: str,
    comparison: str,
    threshold: float,
) -> dict:
    return {
        "segment_id": segment.segment_id,
        "persona_name": name,
        "claim_source": source,
        "feature_name": feature,
        "statistic": statistic,
        "comparison": comparison,
        "threshold": threshold,
        "observed_value": segment.value(feature, statistic),
    }


def _label(feature: str) -> str:
    info = FEATURES_BY_NAME.get(feature)
    return info.label if info else feature.replace("_", " ")


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _feature_order(feature: str) -> int:
    if feature in PROFILE_FEATURE_NAMES:
        return PROFILE_FEATURE_NAMES.index(feature)
    return len(PROFILE_FEATURE_NAMES)


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else value

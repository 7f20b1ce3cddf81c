"""Persona rules: the grammar of ``seeds/persona_rules.csv`` and its parser.

One row per persona: ``rule_priority``, ``persona_name``, ``conditions``
(``<feature> <statistic> <comparison> <number>`` joined by `` and ``), ``pick_feature``,
``pick_statistic``, ``pick_order``, ``persona_summary`` and ``recommended_action`` (see
:mod:`segmentation.describe.personas` for how they are applied). A malformed rule raises
:class:`PersonaRuleError` naming the row and what is wrong.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from segmentation.describe.profiles import PROFILE_FEATURE_NAMES

# Statistic name in a rule -> column of the profile table.
STATISTICS: dict[str, str] = {
    "mean": "segment_mean",
    "median": "segment_median",
    "lift": "lift",
    "z_score": "z_score",
    "segment_rank": "segment_rank",
}
STATISTIC_WORDS: dict[str, str] = {
    "mean": "mean",
    "median": "median",
    "lift": "lift",
    "z_score": "z-score",
    "segment_rank": "rank among segments",
}
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}
PICK_ORDERS: tuple[str, ...] = ("highest", "lowest")
RULE_COLUMNS: tuple[str, ...] = (
    "rule_priority",
    "persona_name",
    "conditions",
    "pick_feature",
    "pick_statistic",
    "pick_order",
    "persona_summary",
    "recommended_action",
)

_CONDITION = re.compile(
    r"(?P<feature>[a-z_][a-z0-9_]*)\s+(?P<statistic>[a-z_]+)\s*"
    r"(?P<comparison>>=|<=|>|<|=)\s*(?P<threshold>[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
)


class PersonaRuleError(ValueError):
    """A persona rule is malformed; the message names the rule and what is wrong."""


@dataclass(frozen=True)
class Condition:
    """``<feature> <statistic> <comparison> <threshold>`` on a segment's profile."""

    feature: str
    statistic: str
    comparison: str
    threshold: float

    def holds(self, value: float | None) -> bool:
        """True when ``value`` meets the condition (a missing value never does)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        return COMPARISONS[self.comparison](float(value), self.threshold)

    def text(self) -> str:
        """The condition as written in the rules (e.g. ``monetary_amount lift >= 2``)."""
        return f"{self.feature} {self.statistic} {self.comparison} {format_number(self.threshold)}"


@dataclass(frozen=True)
class PersonaRule:
    """One persona: the conditions a segment must meet and how to choose among several."""

    priority: int
    name: str
    conditions: tuple[Condition, ...]
    pick_feature: str
    pick_statistic: str
    pick_order: str
    summary: str
    action: str


def parse_condition(text: str, where: str = "rule") -> Condition:
    """One condition from its text; ``where`` names the rule in error messages."""
    match = _CONDITION.fullmatch(text.strip())
    if match is None:
        raise PersonaRuleError(
            f"{where}: cannot read condition {text.strip()!r}; write "
            "'<feature> <statistic> <comparison> <number>', e.g. 'monetary_amount lift >= 2'"
        )
    feature, statistic = match["feature"], match["statistic"]
    _check_feature(feature, where)
    _check_statistic(statistic, where)
    return Condition(feature, statistic, match["comparison"], float(match["threshold"]))


def parse_rules(frame: pd.DataFrame) -> tuple[PersonaRule, ...]:
    """Persona rules from a table with :data:`RULE_COLUMNS` (the seed), in priority order.

    Raises :class:`PersonaRuleError` naming the row (priority and name) and what is wrong.
    """
    missing = [name for name in RULE_COLUMNS if name not in frame.columns]
    if missing:
        raise PersonaRuleError(
            f"persona rules have no column {', '.join(missing)}; columns: {list(frame.columns)}"
        )
    rules: list[PersonaRule] = []
    for position, row in enumerate(frame.to_dict("records"), start=1):
        rules.append(_parse_rule(row, position))
    names = [rule.name for rule in rules]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise PersonaRuleError(f"persona rules: persona_name {repeated} appears more than once")
    priorities = [rule.priority for rule in rules]
    repeated_priorities = sorted({p for p in priorities if priorities.count(p) > 1})
    if repeated_priorities:
        raise PersonaRuleError(
            f"persona rules: rule_priority {repeated_priorities} appears more than once"
        )
    return tuple(sorted(rules, key=lambda rule: rule.priority))


def read_rules(path: str | Path) -> tuple[PersonaRule, ...]:
    """Persona rules from a CSV file shaped like ``seeds/persona_rules.csv``."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError as error:
        raise PersonaRuleError(f"persona rules file not found: {path}") from error
    try:
        return parse_rules(frame)
    except PersonaRuleError as error:
        raise PersonaRuleError(f"{path}: {error}") from error


def _parse_rule(row: Mapping[str, object], position: int) -> PersonaRule:
    name = _text(row.get("persona_name"))
    where = f"persona rule row {position} ({name or 'no name'})"
    if not name:
        raise PersonaRuleError(f"{where}: persona_name is empty")
    try:
        priority = int(str(row.get("rule_priority")).strip())
    except ValueError as error:
        raise PersonaRuleError(
            f"{where}: rule_priority must be a whole number, got {row.get('rule_priority')!r}"
        ) from error
    conditions_text = _text(row.get("conditions"))
    parts = re.split(r"\s+and\s+", conditions_text) if conditions_text else []
    conditions = tuple(parse_condition(part, where) for part in parts)
    pick_feature = _text(row.get("pick_feature"))
    pick_statistic = _text(row.get("pick_statistic"))
    pick_order = _text(row.get("pick_order"))
    _check_feature(pick_feature, where, "pick_feature")
    _check_statistic(pick_statistic, where, "pick_statistic")
    if pick_order not in PICK_ORDERS:
        raise PersonaRuleError(
            f"{where}: pick_order must be one of {', '.join(PICK_ORDERS)}, got {pick_order!r}"
        )
    summary, action = _text(row.get("persona_summary")), _text(row.get("recommended_action"))
    for column, value in (("persona_summary", summary), ("recommended_action", action)):
        if not value:
            raise PersonaRuleError(f"{where}: {column} is empty")
    return PersonaRule(
        priority, name, conditions, pick_feature, pick_statistic, pick_order, summary, action
    )


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _check_feature(feature: str, where: str, column: str = "condition") -> None:
    if feature not in PROFILE_FEATURE_NAMES:
        raise PersonaRuleError(
            f"{where}: {column} names unknown feature {feature!r}; known: "
            + ", ".join(PROFILE_FEATURE_NAMES)
        )


def _check_statistic(statistic: str, where: str, column: str = "condition") -> None:
    if statistic not in STATISTICS:
        raise PersonaRuleError(
            f"{where}: {column} names unknown statistic {statistic!r}; known: "
            + ", ".join(STATISTICS)
        )


def format_number(value: float | None) -> str:
    """A measured value for people: 3 significant digits, thousands separated."""
    if value is None:
        return "unknown"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"

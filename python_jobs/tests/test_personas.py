"""Persona rules (segmentation.describe.personas) on hand-made segment profiles."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from segmentation.describe.persona_rules import (
    COMPARISONS,
    Condition,
    PersonaRule,
    PersonaRuleError,
    parse_condition,
    parse_rules,
    read_rules,
)
from segmentation.describe.personas import (
    assign_personas,
    cadence_description,
    compare_to_average,
    format_amount,
    persona_claims,
    segment_personas,
)
from segmentation.describe.profiles import PROFILE_FEATURE_NAMES
from segmentation.io.tables import SCHEMAS, conform

SEED = Path(__file__).resolve().parents[2] / "seeds" / "persona_rules.csv"
# A typical population (means; medians for the order-count feature).
POPULATION = {name: 1.0 for name in PROFILE_FEATURE_NAMES} | {
    "recency_days": 90.0,
    "frequency_orders": 4.0,
    "monetary_amount": 2000.0,
    "tenure_days": 220.0,
    "avg_order_value": 350.0,
    "avg_items_per_order": 200.0,
    "mean_days_between_orders": 60.0,
}


def profile_table(
    lifts: dict[int, dict[str, float]], medians: dict[int, dict[str, float]] | None = None
) -> pd.DataFrame:
    """Profile rows from lifts per segment (unlisted features: lift 1).

    Means are lift x population mean, the standard deviation is half the population mean (so
    z = 2 (lift - 1)), medians default to the mean; ranks are computed like profiles.py does.
    """
    medians = medians or {}
    rows = []
    for segment_id, segment_lifts in lifts.items():
        for position, name in enumerate(PROFILE_FEATURE_NAMES, start=1):
            lift = segment_lifts.get(name, 1.0)
            mean = lift * POPULATION[name]
            rows.append(
                {
                    "segment_id": segment_id,
                    "feature_name": name,
                    "feature_label": name,
                    "feature_unit": "",
                    "feature_position": position,
                    "customer_count": 100,
                    "segment_mean": mean,
                    "segment_median": medians.get(segment_id, {}).get(name, mean),
                    "population_mean": POPULATION[name],
                    "population_median": POPULATION[name],
                    "population_std": POPULATION[name] / 2,
                    "lift": lift,
                    "z_score": 2 * (lift - 1),
                    "segment_rank": None,
                    "distinctiveness_rank": None,
                }
            )
    frame = pd.DataFrame(rows)
    frame["segment_rank"] = frame.groupby("feature_name")["segment_mean"].rank(
        method="min", ascending=False
    )
    return conform(frame, "ml_segment_profiles")


# Hand-made segments, each built to fit one persona of the seed.
ARCHETYPES: dict[str, tuple[dict[str, float], dict[str, float]]] = {
    "Big-basket wholesalers": (
        {"avg_items_per_order": 8.0, "frequency_orders": 2.0, "monetary_amount": 12.0},
        {"frequency_orders": 8},
    ),
    "Champions": (
        {"monetary_amount": 2.5, "frequency_orders": 2.2, "recency_days": 0.3},
        {"frequency_orders": 9},
    ),
    "Frequent small-basket shoppers": (
        {"frequency_orders": 3.0, "avg_order_value": 0.1, "monetary_amount": 0.3},
        {"frequency_orders": 12},
    ),
    "New customers": ({"tenure_days": 0.15, "recency_days": 0.2}, {"frequency_orders": 2}),
    "Seasonal gift buyers": ({"q4_revenue_share": 2.5, "weekend_order_share": 3.0}, {}),
    "Heavy returners": ({"cancellation_rate": 10.0}, {}),
    "At risk": ({"recency_days": 2.5, "frequency_orders": 0.9}, {"frequency_orders": 3}),
    "Lapsed one-timers": (
        {"recency_days": 3.0, "frequency_orders": 0.25, "monetary_amount": 0.2},
        {"frequency_orders": 1},
    ),
}


def archetype_profiles(names: list[str]) -> pd.DataFrame:
    lifts = {i: ARCHETYPES[name][0] for i, name in enumerate(names, start=1)}
    medians = {i: ARCHETYPES[name][1] for i, name in enumerate(names, start=1)}
    return profile_table(lifts, medians)


@pytest.fixture(scope="module")
def rules() -> tuple[PersonaRule, ...]:
    return read_rules(SEED)


def test_the_seed_parses_with_unique_names_and_a_catch_all(rules) -> None:
    assert len(rules) >= 10
    assert len({rule.name for rule in rules}) == len(rules)
    assert [rule.priority for rule in rules] == sorted(rule.priority for rule in rules)
    assert not rules[-1].conditions  # the last rule fits any segment


def test_each_hand_made_profile_gets_its_persona(rules) -> None:
    names = list(ARCHETYPES)
    personas = assign_personas(archetype_profiles(names), rules)
    assert [persona.name for persona in personas] == names


def test_names_are_unique_when_segments_compete_for_one_persona(rules) -> None:
    # three champion-like segments: the richest is Champions, the others get other names
    lifts = {
        1: {"monetary_amount": 2.0, "frequency_orders": 2.0, "recency_days": 0.5},
        2: {"monetary_amount": 3.0, "frequency_orders": 2.0, "recency_days": 0.5},
        3: {"monetary_amount": 2.5, "frequency_orders": 2.0, "recency_days": 0.5},
    }
    personas = {p.segment_id: p for p in assign_personas(profile_table(lifts), rules)}
    assert personas[2].name == "Champions"
    assert len({p.name for p in personas.values()}) == 3
    # the pick went to the highest revenue lift, and the reason says how many qualified
    assert "of the 3 segments left that qualify" in personas[2].reason


def test_segments_no_rule_fits_get_unique_descriptive_names() -> None:
    no_rules: tuple[PersonaRule, ...] = ()
    lifts = {
        1: {"weekend_order_share": 3.0, "avg_unit_price": 1.6},
        2: {"weekend_order_share": 2.5, "avg_unit_price": 1.3},
        3: {"weekend_order_share": 2.0, "avg_unit_price": 1.2},
        4: {},  # average on everything
    }
    personas = {p.segment_id: p for p in assign_personas(profile_table(lifts), no_rules)}
    assert personas[1].name == "Weekend shoppers"
    assert personas[2].name == "Weekend, premium shoppers"
    assert personas[3].name == "Weekend shoppers (segment 3)"
    assert personas[4].name == "Unprofiled shoppers (segment 4)"
    assert all(p.rule is None and "No persona rule fits" in p.reason for p in personas.values())


def test_a_condition_on_a_missing_statistic_never_holds(rules) -> None:
    frame = archetype_profiles(["Champions", "Lapsed one-timers"])
    frame.loc[frame.feature_name == "monetary_amount", "lift"] = None
    personas = assign_personas(frame, rules)
    assert "Champions" not in {p.name for p in personas}
    assert not Condition("monetary_amount", "lift", ">=", 1.0).holds(float("nan"))
    assert not Condition("monetary_amount", "lift", ">=", 1.0).holds(None)


def test_the_result_does_not_depend_on_row_order(rules) -> None:
    frame = archetype_profiles(list(ARCHETYPES))
    first = segment_personas(frame, rules)
    again = segment_personas(frame.sample(frac=1.0, random_state=7), rules)
    pd.testing.assert_frame_equal(first, again)
    assert list(first.columns) == list(SCHEMAS["ml_segment_personas"])


def test_claims_hold_on_the_profile_they_describe(rules) -> None:
    frame = archetype_profiles(list(ARCHETYPES))
    claims = persona_claims(frame, rules)
    assert list(claims.columns) == list(SCHEMAS["ml_segment_persona_claims"])
    assert set(claims.claim_source) == {"rule", "description"}
    indexed = frame.set_index(["segment_id", "feature_name"])
    column = {"lift": "lift", "z_score": "z_score", "median": "segment_median"}
    column |= {"mean": "segment_mean", "segment_rank": "segment_rank"}
    for claim in claims.itertuples():
        value = indexed.loc[(claim.segment_id, claim.feature_name), column[claim.statistic]]
        assert value == pytest.approx(claim.observed_value)
        assert COMPARISONS[claim.comparison](value, claim.threshold), claim


def test_descriptions_name_the_most_distinctive_features_in_the_right_direction(rules) -> None:
    frame = archetype_profiles(["Champions", "Lapsed one-timers"])
    personas = {p.name: p for p in assign_personas(frame, rules)}
    champions, lapsed = personas["Champions"], personas["Lapsed one-timers"]
    # z = 2 (lift - 1): revenue 3.0, orders 2.4, recency -1.4
    assert champions.distinctive == ("monetary_amount", "frequency_orders", "recency_days")
    assert "net revenue 2.5× the average" in champions.description
    assert "days since the last order 70% below average" in champions.description
    assert lapsed.description.startswith("Bought once, long ago: ")
    assert "days since the last order 3.0× the average" in lapsed.description
    assert lapsed.description.endswith("mostly a single order.")
    for persona in personas.values():  # one sentence
        assert persona.description.endswith(".") and ". " not in persona.description


def test_reason_quotes_the_conditions_with_the_segment_values(rules) -> None:
    personas = assign_personas(archetype_profiles(["Heavy returners"]), rules)
    reason = personas[0].reason
    assert reason.startswith("Persona rule 7 (Heavy returners): meets ")
    assert "share of units cancelled lift is 10 (>= 3)" in reason
    assert "the only segment left that qualifies" in reason


@pytest.mark.parametrize(
    ("feature", "z", "lift", "expected"),
    [
        ("monetary_amount", 3.0, 2.5, "net revenue 2.5× the average"),
        ("frequency_orders", 0.6, 1.3, "orders 30% above average"),
        ("recency_days", -1.0, 0.4, "days since the last order 60% below average"),
        ("evening_order_share", -0.3, 0.0, "share of evening orders zero"),
        ("cancellation_rate", 0.5, None, "share of units cancelled above average"),
        ("tenure_days", 0.11, 1.002, "days since the first order slightly above average"),
    ],
)
def test_comparison_wording(feature: str, z: float, lift: float | None, expected: str) -> None:
    assert compare_to_average(feature, z, lift) == expected


def test_cadence_and_amount_wording() -> None:
    assert cadence_description(5.0, 41.3) == "orders every 41 days"
    assert cadence_description(2.0, 0.8) == "orders every 1 day"
    assert cadence_description(1.0, math.nan) == "mostly a single order"
    assert cadence_description(3.0, math.nan) == "about 3 orders each"
    assert cadence_description(math.nan, 10.0) is None
    assert (format_amount(1387.2), format_amount(324.5), format_amount(27.834)) == (
        "1,387",
        "324",
        "27.83",
    )


def test_empty_profiles_give_typed_empty_tables(rules) -> None:
    empty = conform([], "ml_segment_profiles")
    personas, claims = segment_personas(empty, rules), persona_claims(empty, rules)
    assert personas.empty and list(personas.columns) == list(SCHEMAS["ml_segment_personas"])
    assert claims.empty and str(claims["threshold"].dtype) == "float64"


def seed_frame(**changes: str) -> pd.DataFrame:
    frame = pd.read_csv(SEED, dtype=str, keep_default_na=False).head(3)
    for column, value in changes.items():
        frame.loc[1, column] = value
    return frame


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"conditions": "revenue lift >= 2"}, "unknown feature 'revenue'"),
        ({"conditions": "monetary_amount average >= 2"}, "unknown statistic 'average'"),
        ({"conditions": "monetary_amount lift => 2"}, "cannot read condition"),
        ({"conditions": "monetary_amount lift >= two"}, "cannot read condition"),
        ({"pick_order": "biggest"}, "pick_order must be one of highest, lowest"),
        ({"pick_feature": "sales"}, "pick_feature names unknown feature 'sales'"),
        ({"rule_priority": "second"}, "rule_priority must be a whole number"),
        ({"rule_priority": "1"}, "rule_priority [1] appears more than once"),
        ({"persona_name": "Big-basket wholesalers"}, "appears more than once"),
        ({"recommended_action": ""}, "recommended_action is empty"),
        ({"persona_name": ""}, "persona_name is empty"),
    ],
)
def test_bad_rules_name_the_row_and_the_problem(changes: dict, needle: str) -> None:
    with pytest.raises(PersonaRuleError) as error:
        parse_rules(seed_frame(**changes))
    assert needle in str(error.value)
    if "appears more than once" not in needle:
        assert "persona rule row 2" in str(error.value)


def test_rule_files_and_columns_are_checked(tmp_path: Path) -> None:
    with pytest.raises(PersonaRuleError, match="not found"):
        read_rules(tmp_path / "missing.csv")
    with pytest.raises(PersonaRuleError, match="no column conditions"):
        parse_rules(seed_frame().drop(columns="conditions"))
    bad = tmp_path / "rules.csv"
    seed_frame(conditions="x lift > 1").to_csv(bad, index=False)
    with pytest.raises(PersonaRuleError, match=f"{bad}: persona rule row 2"):
        read_rules(bad)


def test_condition_text_round_trips() -> None:
    condition = parse_condition("  monetary_amount   lift>=1.5 ")
    assert condition == Condition("monetary_amount", "lift", ">=", 1.5)
    assert parse_condition(condition.text()) == condition

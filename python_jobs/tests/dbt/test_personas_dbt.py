"""Profiles, personas, explanations and the RFM cross-tab, built by the real `dbt build`.

The session's demo warehouse (planted archetypes, conftest.py) is read; the real Online Retail
log is built here when it is present. The checks are relations between tables, not fixed figures: a
persona's name must agree with its profile (the segment called Champions really out-spends the
others), names are unique, the cross-tab adds up, and the BI marts are contracted and exposed.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from helpers import REPO_ROOT, query_frame, require_online_retail, run_dbt

from segmentation.describe.profiles import PROFILE_FEATURE_NAMES
from segmentation.loading import LoadOptions, load_path

pytestmark = pytest.mark.dbt

BI_MARTS = (
    "dim_segments",
    "fct_customer_segments",
    "fct_customer_rfm",
    "fct_segment_feature_profiles",
    "fct_segment_rfm_crosstab",
)
# dbt tests of the segment tables (the persona claims, contracts, keys, the RFM grid).
PERSONA_TESTS = (
    *BI_MARTS,
    "models/ml/personas",
    "assert_persona_claims_hold_in_customer_tables",
    "assert_rfm_grid_covers_every_cell_once",
    "assert_every_eligible_customer_has_one_segment",
)
FAST_SEGMENTATION = {"segmentation": {"algorithms": ["kmeans"], "kmeans": {"n_init": 3}}}
HIGH_VALUE_PERSONAS = {"Champions", "Big-basket wholesalers", "High spenders"}
# Planted demo archetype -> personas that describe it (one-time buyers split by age and size).
EXPECTED_PERSONAS = {
    "wholesale": {"Big-basket wholesalers", "High spenders"},
    "loyal_high_value": {"Champions", "Loyal regulars", "High spenders"},
    "frequent_low_basket": {"Frequent small-basket shoppers"},
    # the Christmas share only describes; what defines them is a yearly cadence
    "seasonal_gift_buyer": {"Seasonal gift buyers", "Once-a-year buyers"},
    "new_customer": {"New customers"},
    "lapsed": {"At risk"},
    "one_time_buyer": {"Lapsed one-timers", "One-off small spenders", "Recent first-timers"},
}


@pytest.fixture(scope="module")
def demo(demo_build) -> tuple[Path, Path]:
    """The session's built demo warehouse and its dbt folder (read only)."""
    return demo_build.database, demo_build.work


def check_personas_agree_with_profiles(database: Path) -> pd.DataFrame:
    """Relations every built warehouse must satisfy; returns dim_segments."""
    segments = query_frame(database, "select * from marts.dim_segments order by segment_id")
    assert len(segments) >= 2
    assert segments.segment_name.is_unique and segments.segment_name.notna().all()
    for column in ("persona_description", "persona_reason", "recommended_action"):
        assert segments[column].notna().all() and (segments[column].str.len() > 20).all()
    named = segments.set_index("segment_name")

    def others(name: str, *also: str) -> pd.DataFrame:
        return named.drop(index=[name, *(n for n in also if n in named.index)])

    if "Champions" in named.index:
        # the high-value persona really has the highest revenue lift (wholesalers aside)
        champions = named.loc["Champions"]
        rivals = others("Champions", "Big-basket wholesalers")
        assert (champions.monetary_amount_lift >= rivals.monetary_amount_lift).all()
        assert champions.monetary_amount_lift > 1 and champions.frequency_orders_lift > 1
    if "Big-basket wholesalers" in named.index:
        basket = named.loc["Big-basket wholesalers"].avg_items_per_order_lift
        assert (basket > others("Big-basket wholesalers").avg_items_per_order_lift).all()
    if "New customers" in named.index:
        tenure = named.loc["New customers"].tenure_days_lift
        assert (tenure < others("New customers").tenure_days_lift).all()
    if "Heavy returners" in named.index:
        cancelled = named.loc["Heavy returners"].cancellation_rate_lift
        assert (cancelled > others("Heavy returners").cancellation_rate_lift).all()
    for name in ("At risk", "Lapsed one-timers"):
        if name in named.index:
            assert named.loc[name].recency_days_lift > 1
    if "Lapsed one-timers" in named.index:
        assert named.loc["Lapsed one-timers"].typical_orders == 1
    # the segment that brings the most revenue per customer has a high-value persona
    top = segments.sort_values("monetary_amount_lift").iloc[-1].segment_name
    assert top in HIGH_VALUE_PERSONAS
    return segments


def test_demo_personas_are_unique_and_agree_with_their_profiles(demo) -> None:
    database, _ = demo
    check_personas_agree_with_profiles(database)


def test_segments_that_recover_a_planted_archetype_get_its_persona(demo) -> None:
    """Where clustering found an archetype (a segment and an archetype that are mostly each
    other, whatever k the engine chose), the persona must be one that describes it."""
    database, _ = demo
    pairs = query_frame(
        database,
        "select truth.archetype, segments.segment_name from marts.fct_customer_segments as"
        " segments join raw.customer_archetypes as truth using (customer_id)",
    )
    counts = pd.crosstab(pairs.archetype, pairs.segment_name)
    share_of_archetype = counts.div(counts.sum(axis=1), axis=0)
    share_of_segment = counts.div(counts.sum(axis=0), axis=1)
    pure = (share_of_archetype >= 0.7) & (share_of_segment >= 0.7)
    found = [(a, s) for a in counts.index for s in counts.columns if pure.loc[a, s]]
    assert found, counts
    for archetype, segment_name in found:
        assert segment_name in EXPECTED_PERSONAS[archetype], (archetype, segment_name)


def test_profiles_long_and_wide_agree(demo) -> None:
    database, _ = demo
    long = query_frame(database, "select * from marts.fct_segment_feature_profiles")
    wide = query_frame(database, "select * from marts.dim_segments").set_index("segment_id")
    assert set(long.feature_name) == set(PROFILE_FEATURE_NAMES)
    assert len(long) == len(wide) * len(PROFILE_FEATURE_NAMES)
    stems = {"mean_days_between_orders": "days_between_orders"}
    for item in long.itertuples():
        stem = stems.get(item.feature_name, item.feature_name)
        segment = wide.loc[item.segment_id]
        for column, value in ((f"mean_{stem}", item.segment_mean), (f"{stem}_lift", item.lift)):
            assert pd.isna(value) == pd.isna(segment[column])
            if not pd.isna(value):
                assert segment[column] == pytest.approx(value)
    # each segment's description mentions one to three of its features
    described = long[long.is_in_description].groupby("segment_id").size()
    assert set(described.index) == set(wide.index) and described.between(1, 3).all()
    # plain-unit summaries
    assert wide.cadence_description.str.match(r"orders every \d+ days?|mostly a single order").all()
    assert wide.top_country.notna().all()
    assert wide.top_country_customer_share.between(0, 1).all()


def test_explanation_fidelity_is_recorded_and_rules_reach_dim_segments(demo) -> None:
    database, _ = demo
    fit = query_frame(database, "select * from ml.ml_segment_explanation_fit")
    segments = query_frame(database, "select * from marts.dim_segments").set_index("segment_id")
    rules = query_frame(database, "select * from ml.ml_segment_explanation_rules")
    assert len(fit) == 1
    row = fit.iloc[0]
    # the deep tree stays as a fidelity figure for the whole segmentation
    assert 0 < row.fidelity <= 1 and 0 < row.cross_validated_fidelity <= 1
    assert row.n_customers == segments.customer_count.sum()
    assert 0 < row.explained_segment_count <= row.n_segments == len(segments)
    # every segment gets its readable rule, with the rule's own precision and coverage
    rules = rules.set_index("segment_id")
    assert set(rules.index) == set(segments.index)
    assert (rules.condition_count <= 3).all()
    assert (segments.explanation_rule == rules.rule_text.reindex(segments.index)).all()
    for segment_id, rule in rules.iterrows():
        segment = segments.loc[segment_id]
        assert segment.explanation_coverage == pytest.approx(
            rule.segment_customer_count / segment.customer_count
        )
        assert segment.explanation_precision == pytest.approx(rule.rule_precision)
        assert rule.rule_precision == pytest.approx(
            rule.segment_customer_count / rule.customer_count
        )


def test_rfm_crosstab_adds_up_and_relates_the_two_views(demo) -> None:
    database, _ = demo
    cells = query_frame(database, "select * from marts.fct_segment_rfm_crosstab")
    segments = query_frame(database, "select * from marts.fct_customer_segments")
    grid_names = query_frame(
        database, "select distinct rfm_segment_name from reference.rfm_segment_grid"
    )
    assert len(cells) == segments.segment_id.nunique() * len(grid_names)
    assert cells.customer_count.sum() == len(segments)
    assert segments.rfm_segment_name.notna().all()
    counted = segments.groupby(["segment_id", "rfm_segment_name"]).size()
    indexed = cells.set_index(["segment_id", "rfm_segment_name"]).customer_count
    assert (indexed[indexed > 0].sort_index() == counted.sort_index()).all()
    assert cells.groupby("segment_id").segment_customer_share.sum().round(9).eq(1).all()
    assert cells.revenue_share.sum() == pytest.approx(1.0)


def test_bi_marts_are_contracted_described_and_exposed(demo) -> None:
    _, work = demo
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    nodes = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    for name in BI_MARTS:
        node = nodes[name]
        assert node["contract"]["enforced"] and node["access"] == "public", name
        assert node["columns"], name
        for column, spec in node["columns"].items():
            assert spec["data_type"] and spec["description"], (name, column)
    dashboards = [e for e in manifest["exposures"].values() if e["type"] == "dashboard"]
    exposed = {ref for e in dashboards for ref in e["depends_on"]["nodes"]}
    assert {f"model.customer_segments.{name}" for name in BI_MARTS} <= exposed
    assert (REPO_ROOT / "seeds" / "persona_rules.csv").exists()


def test_a_persona_claim_the_profile_does_not_support_fails_the_dbt_test(
    demo_build, tmp_path
) -> None:
    tampered = demo_build.copy_to(tmp_path)  # with the parsed project: dbt starts sooner
    copy, work = tampered.database, tampered.work
    test = ["test", "--select", "assert_persona_claims_hold_in_customer_tables"]
    run_dbt(test, copy, work)  # holds as built
    with duckdb.connect(str(copy)) as con:
        # claim the opposite direction for one described feature
        con.execute(
            "update ml.ml_segment_persona_claims set comparison = case comparison"
            " when '>' then '<' else '>' end where claim_source = 'description'"
            " and segment_id = (select min(segment_id) from ml.ml_segment_persona_claims)"
        )
    done = run_dbt(test, copy, work, check=False)
    assert done.returncode != 0 and "FAIL" in done.stdout


@pytest.mark.real_data
def test_real_log_personas_are_unique_and_agree_with_their_profiles(tmp_path: Path) -> None:
    by_day = require_online_retail()
    database = tmp_path / "real.duckdb"
    with duckdb.connect(str(database)) as con:
        load_path(con, by_day, LoadOptions(show_progress=False))
    # test_pipeline_dbt runs every test of the full default build on this log; here K-Means
    # alone keeps the build quick (the relations checked hold for any segmentation)
    skip_tests = ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
    run_dbt(["build", *skip_tests, "--vars", json.dumps(FAST_SEGMENTATION)], database, tmp_path)
    run_dbt(["test", "--select", *PERSONA_TESTS], database, tmp_path)
    segments = check_personas_agree_with_profiles(database)
    assert segments.customer_count.sum() > 4000

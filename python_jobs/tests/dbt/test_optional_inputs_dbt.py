"""Customer attributes and engagement events through the real `dbt build`.

The session's demo warehouse holds both optional inputs (the demo writes them). The engagement
features and the attribute lifts are recomputed here in pandas from the raw tables and compared
with the marts; a grocer-shaped loyalty file is loaded through the example mapping and must show
up in the profiles; the persona claims about the inputs hold (their dbt test runs in the build).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import REPO_ROOT, dbt_vars, fast_segmentation, fast_vars, query_frame, run_dbt

from segmentation.config.segmentation import DEFAULTS
from segmentation.describe.engagement import ENGAGEMENT_FEATURES
from segmentation.describe.segment_inputs import attribute_profiles, engagement_profiles
from segmentation.engine.scoring import score
from segmentation.io.warehouse import connect
from segmentation.loading.sources import SourceOptions, load_source

pytestmark = pytest.mark.dbt

EMAIL_ATTRIBUTION_DAYS = 3  # the var's default (dbt_project.yml)
DEFAULT_FEATURES = list(DEFAULTS["features"])


def _expected_engagement(database) -> pd.DataFrame:
    """The engagement features of every customer, from raw events and the kept orders."""
    customers = query_frame(
        database,
        "select customer_id, as_of_date, first_order_at, frequency_orders "
        "from marts.fct_customer_features",
    )
    events = query_frame(
        database, "select customer_id, occurred_at, event_kind from raw.engagement_events"
    )
    orders = query_frame(
        database, "select customer_id, ordered_at from intermediate.int_orders_netted where is_kept"
    )
    as_of = pd.Timestamp(customers["as_of_date"].iloc[0])
    events = events[events["occurred_at"] < as_of]
    counts = events.pivot_table(
        index="customer_id",
        columns="event_kind",
        values="occurred_at",
        aggfunc="count",
        fill_value=0,
    )
    expected = customers.set_index("customer_id").join(counts, how="inner")
    for kind in ("session", "view", "cart", "email_sent", "email_opened", "email_clicked"):
        if kind not in expected:
            expected[kind] = 0
    first_event = events.groupby("customer_id")["occurred_at"].min()
    start = np.minimum(expected["first_order_at"], first_event.reindex(expected.index))
    months = np.maximum(1.0, (as_of - start.dt.normalize()).dt.days / 30.4375)
    last_visit = (
        events[events["event_kind"] == "session"].groupby("customer_id")["occurred_at"].max()
    )
    clicks = events[events["event_kind"] == "email_clicked"][["customer_id", "occurred_at"]]
    pairs = orders.merge(clicks, on="customer_id")
    window = pd.Timedelta(days=EMAIL_ATTRIBUTION_DAYS)
    followed = pairs[
        (pairs["occurred_at"] <= pairs["ordered_at"])
        & (pairs["occurred_at"] > pairs["ordered_at"] - window)
    ]
    after_click = (
        followed.drop_duplicates(["customer_id", "ordered_at"]).groupby("customer_id").size()
    )
    sent = expected["email_sent"].replace(0, np.nan)
    result = pd.DataFrame(index=expected.index)
    result["days_since_last_visit"] = (
        as_of - last_visit.reindex(expected.index).dt.normalize()
    ).dt.days
    result["sessions_per_month"] = expected["session"] / months
    result["views_per_order"] = expected["view"] / expected["frequency_orders"]
    result["cart_to_order_rate"] = expected["frequency_orders"] / expected["cart"].replace(
        0, np.nan
    )
    result["email_open_rate"] = expected["email_opened"] / sent
    result["email_click_rate"] = expected["email_clicked"] / sent
    result["orders_after_email_click_share"] = (
        after_click.reindex(expected.index).fillna(0) / expected["frequency_orders"]
    ).where(sent.notna())
    return result


def test_engagement_features_match_an_independent_recomputation(demo_build) -> None:
    built = query_frame(
        demo_build.database,
        f"select customer_id, {', '.join(ENGAGEMENT_FEATURES)} from marts.fct_customer_engagement "
        "where has_engagement_events",
    ).set_index("customer_id")
    expected = _expected_engagement(demo_build.database)
    assert len(built) > 1000 and set(built.index) == set(expected.index)
    built = built.loc[expected.index, list(ENGAGEMENT_FEATURES)].astype(float)
    # timestamps of orders (ordered_at) may differ by a session's minutes from the first line;
    # every feature still agrees to float precision
    pd.testing.assert_frame_equal(
        built, expected[list(ENGAGEMENT_FEATURES)].astype(float), rtol=1e-9, check_names=False
    )
    uncovered = query_frame(
        demo_build.database,
        "select count(*) as n from marts.fct_customer_engagement "
        "where not has_engagement_events and sessions_per_month is not null",
    )["n"][0]
    assert uncovered == 0  # never imputed


def test_engagement_and_attribute_profiles_match_a_recomputation(demo_build) -> None:
    database = demo_build.database
    segments = query_frame(
        database, "select customer_id, segment_id from ml.ml_customer_assignments"
    )
    engagement = _expected_engagement(database).reset_index().merge(segments, on="customer_id")
    built = query_frame(database, "select * from marts.fct_segment_engagement_profiles")
    for row in built.itertuples():
        values = engagement[row.feature_name]
        in_segment = values[engagement["segment_id"] == row.segment_id]
        assert row.customers_with_value == in_segment.notna().sum()
        assert row.lift == pytest.approx(in_segment.mean() / values.mean(), rel=1e-9)

    attributes = query_frame(
        database, "select customer_id, attribute_name, attribute_value from raw.customer_attributes"
    ).merge(segments, on="customer_id")
    profiles = query_frame(database, "select * from marts.fct_segment_attribute_profiles")
    assert set(profiles["attribute_name"]) == set(attributes["attribute_name"])
    for row in profiles.sample(n=min(60, len(profiles)), random_state=0).itertuples():
        known = attributes[attributes["attribute_name"] == row.attribute_name]
        segment = known[known["segment_id"] == row.segment_id]
        share = (segment["attribute_value"] == row.attribute_category).mean()
        overall = (known["attribute_value"] == row.attribute_category).mean()
        size = (segments["segment_id"] == row.segment_id).sum()
        assert row.coverage == pytest.approx(len(segment) / size)
        assert row.category_share == pytest.approx(share)
        assert row.lift == pytest.approx(share / overall)


def test_personas_cite_what_distinguishes_segments_and_claims_are_built(demo_build) -> None:
    personas = query_frame(
        demo_build.database,
        "select persona_description, recommended_action from marts.dim_segments",
    )
    assert personas["persona_description"].str.contains("Channel: email").any()
    assert personas["persona_description"].str.contains("Channel: site").any()
    assert personas["persona_description"].str.contains("Where known").any()
    claims = query_frame(
        demo_build.database,
        "select claim_source, count(*) as n from ml.ml_segment_persona_claims group by 1",
    ).set_index("claim_source")["n"]
    assert claims.get("engagement", 0) > 0 and claims.get("attribute", 0) > 0


def test_a_grocer_loyalty_file_appears_in_the_profiles(demo_copy, tmp_path) -> None:
    """About 800 households in another shape, loaded through the example mapping only."""
    database = demo_copy.database
    customers = query_frame(
        database, "select customer_id from marts.fct_customer_features order by 1"
    )
    rng = np.random.default_rng(3)
    chosen = customers["customer_id"].sample(n=800, random_state=3, replace=len(customers) < 800)
    frame = pd.DataFrame(
        {
            "household_key": chosen.drop_duplicates().to_numpy(),
        }
    )
    n = len(frame)
    frame["AGE_DESC"] = rng.choice(["19-24", "25-34", "35-44", "45-54", "55-64", "65+"], n)
    frame["MARITAL_STATUS_CODE"] = rng.choice(["A", "B", "U"], n)
    frame["INCOME_DESC"] = rng.choice(["Under 15K", "15-24K", "35-49K", "50-74K", "100-124K"], n)
    frame["HOMEOWNER_DESC"] = rng.choice(["Homeowner", "Renter", "Unknown"], n)
    frame["HH_COMP_DESC"] = rng.choice(
        ["1 Adult Kids", "2 Adults Kids", "Single Male", "Unknown"], n
    )
    frame["HOUSEHOLD_SIZE_DESC"] = rng.choice(["1", "2", "3", "4", "5+"], n)
    frame["KID_CATEGORY_DESC"] = rng.choice(["1", "2", "3+", "None/Unknown"], n)
    path = tmp_path / "hh_demographic.csv"
    frame.to_csv(path, index=False)
    con = connect(database)
    try:
        report = load_source(
            con,
            path,
            SourceOptions(
                "customers", REPO_ROOT / "python_jobs/examples/customers_mapping_example.yml"
            ),
        )
    finally:
        con.close()
    assert report.rows_loaded == n and report.rows_rejected == 0
    rebuilt = [
        "int_customer_attributes_current",
        "fct_segment_attribute_profiles",
        "ml_segment_personas",
        "ml_segment_persona_claims",
        "assert_persona_claims_hold_in_customer_tables",
    ]
    run_dbt(["build", "--select", *rebuilt], database, demo_copy.work)
    profiles = query_frame(database, "select * from marts.fct_segment_attribute_profiles")
    assert {"age_band", "income_band", "home_ownership", "marital_status", "household_size",
            "household_composition", "kids_count"} <= set(profiles["attribute_name"])  # fmt: skip
    # the demo's own attributes gave way to the loyalty file
    assert "signup_channel" not in set(profiles["attribute_name"])
    covered = profiles.drop_duplicates("attribute_name").set_index("attribute_name")
    assert covered.loc["age_band", "population_coverage"] == pytest.approx(
        n / len(customers), rel=0.01
    )
    assert "Unknown" not in set(
        profiles.loc[profiles["attribute_name"] == "home_ownership", "attribute_category"]
    )


def test_engagement_features_and_attributes_define_segments_when_opted_in(
    demo_build, tmp_path
) -> None:
    """Opt-in: with engagement_feature_role define, listed engagement features are model inputs
    (with an explicit imputation rule); with segmentation.categorical_attributes, each category
    of the named attribute is a weighted 0/1 input. The roles table says the vars did it, and
    the SQL scoring of the kept model agrees with the package's."""
    features = [*DEFAULT_FEATURES, "email_open_rate", "sessions_per_month"]
    weight = 1.5
    variables = fast_vars(
        engagement_feature_role="define",
        segmentation={
            **fast_segmentation(),
            "features": features,
            "imputation": {
                "mean_days_between_orders": "recency_days",
                "email_open_rate": 0,
                "sessions_per_month": 0,
            },
            "categorical_attributes": {"household": weight},
        },
    )
    # its own copy: the module's copy gets the grocer's attributes in place of the demo's
    warehouse = demo_build.copy_to(tmp_path / "warehouse")
    database = warehouse.database
    run_dbt(
        ["build", "--exclude-resource-type", "unit_test", *dbt_vars(variables)],
        database,
        warehouse.work,
    )
    model = query_frame(database, "select features_used from ml.ml_segment_model")
    used = json.loads(model["features_used"][0])
    assert "email_open_rate" in used
    roles = query_frame(
        database,
        "select feature_name, feature_role, is_model_input, role_reason from ml.ml_feature_roles",
    ).set_index("feature_name")
    assert roles.loc["email_open_rate", "feature_role"] == "defining"
    assert "set by the var segmentation.features" in roles.loc["email_open_rate", "role_reason"]
    # an engagement feature the var does not list still only describes
    assert roles.loc["email_click_rate", "feature_role"] == "describing"
    assert roles.loc["household", "feature_role"] == "defining"
    assert bool(roles.loc["household", "is_model_input"])
    assert "categorical_attributes" in roles.loc["household", "role_reason"]
    assert roles.loc["age_band", "feature_role"] == "describing"

    # one 0/1 column per current household category, 1 exactly for its customers
    current = query_frame(
        database,
        "select customer_id, attribute_category from intermediate.int_customer_attributes_current "
        "where attribute_name = 'household'",
    ).set_index("customer_id")["attribute_category"]
    table = query_frame(database, "select * from marts.fct_customer_features")
    columns = sorted(c for c in table.columns if c.startswith("attribute_household__"))
    assert len(columns) == current.nunique() >= 2
    assert set(columns) <= set(used)
    for category in current.unique():
        column = "attribute_household__" + category.lower().replace(" ", "_")
        expected = table["customer_id"].map(current).eq(category).astype(float)
        assert table[column].tolist() == expected.tolist(), column
    uncovered = ~table["customer_id"].isin(current.index)
    assert uncovered.any() and (table.loc[uncovered, columns] == 0).all().all()

    params = query_frame(database, "select * from ml.ml_feature_transform_params")
    indicator = params[params["feature_name"].isin(columns)]
    assert indicator["scale"].tolist() == pytest.approx([2**0.5 / weight] * len(columns))
    assert indicator["centre"].tolist() == [0.0] * len(columns)
    # the SQL scoring of the kept model (ml_customer_assignments) is the package's scoring
    representatives = query_frame(database, "select * from ml.ml_segment_representatives")
    scores = score(table, params, representatives)
    assigned = query_frame(
        database, "select customer_id, segment_id from ml.ml_customer_assignments"
    )
    by_customer = dict(zip(table["customer_id"], scores.segment_ids, strict=True))
    assert assigned["segment_id"].tolist() == assigned["customer_id"].map(by_customer).tolist()


def test_the_package_segment_profiles_equal_the_marts(demo_build) -> None:
    """The personas, claims and feature roles compute the segment profiles in the package
    (segmentation.describe.segment_inputs) from the per-customer tables; the SQL marts kept
    for BI must hold the same figures."""
    database = demo_build.database
    assignments = query_frame(database, "select * from ml.ml_customer_assignments")
    engagement = query_frame(database, "select * from marts.fct_customer_engagement")
    attributes = query_frame(database, "select * from intermediate.int_customer_attributes_current")
    pairs = [
        (
            engagement_profiles(assignments, engagement),
            "marts.fct_segment_engagement_profiles",
            ["segment_id", "feature_name"],
        ),
        (
            attribute_profiles(assignments, attributes),
            "marts.fct_segment_attribute_profiles",
            ["segment_id", "attribute_name", "attribute_category"],
        ),
    ]
    for computed, mart, keys in pairs:
        built = query_frame(database, f"select * from {mart}")
        assert len(built) > 0, mart
        assert list(computed.columns) == list(built.columns), mart
        computed = computed.sort_values(keys).reset_index(drop=True)
        built = built.sort_values(keys).reset_index(drop=True)
        for column in computed.columns:
            if computed[column].dtype.kind in "if":
                np.testing.assert_allclose(
                    computed[column].astype(float),
                    built[column].astype(float),
                    rtol=1e-9,
                    equal_nan=True,
                    err_msg=f"{mart}.{column}",
                )
            else:
                assert (
                    computed[column].astype(str).tolist() == built[column].astype(str).tolist()
                ), f"{mart}.{column}"

"""The dbt Python models of models/ml, built by dbt on a demo log and on an empty feature table."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import pytest
from helpers import actionable_segment_problems, dbt_vars, run_dbt, venv_executable
from sklearn.metrics import adjusted_rand_score

from segmentation.benchmark.synthetic import synthetic_customer_features
from segmentation.describe.engagement import ENGAGEMENT_FEATURES

# A --vars override of one key: the rest of the segmentation var keeps its defaults.
OVERRIDE = {"segmentation": {"dbscan": {"min_samples": [12]}}}
# The demo plants 7 archetypes; the winner must recover them at least this well (measured:
# 0.94 on the default 5,000 customers, 0.91 on a 1,500-customer export without invoice ids).
MIN_ARCHETYPE_ARI = 0.8
pytestmark = pytest.mark.dbt


def test_demo_build_recovers_the_planted_archetypes(tmp_path: Path) -> None:
    # its own demo, larger than the session's (conftest.py): a first build with the override
    database = tmp_path / "warehouse.duckdb"
    demo = [str(venv_executable("segmentation")), "demo", "--customers", "1500", "--database"]
    subprocess.run([*demo, str(database)], check=True, capture_output=True)
    selection = ["--select", "+models/ml", "--indirect-selection", "cautious"]
    run_dbt(["build", *selection, *dbt_vars(OVERRIDE)], database, tmp_path)
    con = duckdb.connect(str(database), read_only=True)
    counts = con.sql(
        "select (select count(*) from marts.fct_customer_features), count(*), "
        "count(distinct customer_id) from ml.ml_customer_assignments"
    ).fetchall()[0]
    assert counts[0] == counts[1] == counts[2] > 1000
    winners = con.sql("select candidate_id from ml.ml_model_candidates where is_winner").fetchall()
    model = con.sql("select candidate_id, settings_json from ml.ml_segment_model").fetchall()
    assert len(winners) == 1 and model[0][0] == winners[0][0]
    settings = json.loads(model[0][1])
    assert settings["dbscan"]["min_samples"] == [12] and settings["kmeans"]["k_max"] == 10
    dbscan = con.sql(
        "select candidate_id from ml.ml_model_candidates where algorithm = 'dbscan'"
    ).fetchall()
    assert dbscan == [("dbscan__eps=auto__min_samples=12",)]
    pairs = con.sql(
        "select truth.archetype, assigned.segment_id from ml.ml_customer_assignments "
        "as assigned join raw.customer_archetypes as truth using (customer_id)"
    ).fetchall()
    ari = adjusted_rand_score([p[0] for p in pairs], [p[1] for p in pairs])
    assert ari >= MIN_ARCHETYPE_ARI, (
        f"winner {winners[0][0]} recovers the archetypes with ARI {ari}"
    )
    assert actionable_segment_problems(con) == []


def test_empty_features_build_typed_empty_tables(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    features, _ = synthetic_customer_features(5, n_groups=3, random_state=2)
    with duckdb.connect(str(database)) as con:
        con.execute("create schema marts")
        con.register("features", features.iloc[:0])
        con.execute("create table marts.fct_customer_features as select * from features")
        # the personas and roles profile the (here empty) optional inputs per segment, and the
        # persona claims test recomputes claims about them from the same tables
        features = ", ".join(f"{name} double" for name in ENGAGEMENT_FEATURES)
        con.execute(f"create table marts.fct_customer_engagement (customer_id varchar, {features})")
        con.execute("create schema intermediate")
        con.execute(
            "create table intermediate.int_customer_attributes_current (customer_id varchar, "
            "attribute_name varchar, attribute_type varchar, attribute_category varchar)"
        )
    # the persona models (models/ml/personas) also read the seed persona_rules
    run_dbt(["build", "--select", "models/ml", "persona_rules"], database, tmp_path)
    con = duckdb.connect(str(database), read_only=True)
    assert con.sql("select count(*) from ml.ml_customer_assignments").fetchall() == [(0,)]
    types = dict(
        con.sql(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'ml' and table_name = 'ml_customer_assignments'"
        ).fetchall()
    )
    assert types["segment_id"] == "BIGINT" and types["as_of_date"] == "DATE"
    assert types["customer_id"] == "VARCHAR" and types["is_outlier"] == "BOOLEAN"

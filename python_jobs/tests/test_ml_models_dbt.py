"""The dbt Python models of models/ml, built by dbt on a small synthetic feature table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from segmentation.synthetic import synthetic_customer_features

PROJECT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).parent / "dbt"
SMALL = {
    "algorithms": ["kmeans", "agglomerative", "hdbscan"],
    "kmeans": {"k_min": 2, "k_max": 5, "n_init": 3},
    "agglomerative": {"k_min": 3, "k_max": 4, "linkages": ["ward"], "fit_sample_size": 300},
    "hdbscan": {"min_cluster_size": [40], "fit_sample_size": 300},
    "selection": {"silhouette_sample_size": 400},
}

pytestmark = pytest.mark.dbt


def build_ml(tmp_path: Path, n_customers: int) -> duckdb.DuckDBPyConnection:
    """Put a synthetic fct_customer_features in a fresh warehouse and `dbt build` models/ml."""
    database = tmp_path / "warehouse.duckdb"
    features, _ = synthetic_customer_features(max(n_customers, 1), n_groups=3, random_state=2)
    features = features.iloc[:n_customers]
    with duckdb.connect(str(database)) as con:
        con.execute("create schema marts")
        con.register("features", features)
        con.execute("create table marts.fct_customer_features as select * from features")
    env = {**os.environ, "DBT_PROFILES_DIR": str(PROJECT), "SEGMENTS_DUCKDB_PATH": str(database)}
    command = [
        str(DBT),
        "build",
        "--select",
        "models/ml",
        "--vars",
        json.dumps({"segmentation": SMALL}),
        "--target-path",
        str(tmp_path / "target"),
        "--log-path",
        str(tmp_path / "logs"),
    ]
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return duckdb.connect(str(database), read_only=True)


def test_ml_chain_builds_and_passes_its_tests(tmp_path: Path) -> None:
    con = build_ml(tmp_path, 700)
    assigned = con.sql(
        "select count(*), count(distinct customer_id) from ml.ml_customer_assignments"
    )
    assert assigned.fetchall() == [(700, 700)]
    winners = con.sql("select candidate_id from ml.ml_model_candidates where is_winner").fetchall()
    model = con.sql("select candidate_id, settings_json from ml.ml_segment_model").fetchall()
    assert len(winners) == 1 and model[0][0] == winners[0][0]
    # the --vars override reached Python through the model config, merged with the defaults
    settings = json.loads(model[0][1])
    assert settings["kmeans"]["k_max"] == 5 and settings["scaler"] == "standard"
    max_k = con.sql(
        "select max(n_segments_requested) from ml.ml_model_candidates where algorithm = 'kmeans'"
    )
    assert max_k.fetchall() == [(5,)]
    pairs = con.sql("select count(*) from ml.ml_algorithm_agreement").fetchall()
    assert pairs == [(3,)]


def test_empty_features_build_typed_empty_tables(tmp_path: Path) -> None:
    con = build_ml(tmp_path, 0)
    assert con.sql("select count(*) from ml.ml_customer_assignments").fetchall() == [(0,)]
    types = dict(
        con.sql(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'ml' and table_name = 'ml_customer_assignments'"
        ).fetchall()
    )
    assert types["segment_id"] == "BIGINT" and types["as_of_date"] == "DATE"
    assert types["customer_id"] == "VARCHAR" and types["is_outlier"] == "BOOLEAN"

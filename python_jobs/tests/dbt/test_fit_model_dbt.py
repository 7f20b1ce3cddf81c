"""`segmentation fit-model` against the demo warehouse dbt built: the fit beside dbt makes the
model dbt's Python models made (one code path), the Python twin of the SQL scoring agrees with
the SQL, and a failed fit changes nothing.

DuckDB is the one engine every machine has; the command's PostgreSQL and Spark runs are proven
by `make test-engines` (every customer in DuckDB's segment).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from helpers import REPO_ROOT, dbt_env, query_frame, venv_executable

from segmentation.engine import scoring

FIT_TABLES = ("ml.ml_segment_representatives", "ml.ml_feature_transform_params")


def _fit_model(database: Path, *more: str) -> subprocess.CompletedProcess[str]:
    command = [str(venv_executable("segmentation")), "fit-model", "--target", "duckdb"]
    command += ["--project-dir", str(REPO_ROOT), *more]
    return subprocess.run(command, env=dbt_env(database), capture_output=True, text=True)


def _numbers_close(before: pd.DataFrame, after: pd.DataFrame, keys: list[str]) -> None:
    before = before.sort_values(keys).reset_index(drop=True)
    after = after.sort_values(keys).reset_index(drop=True)
    assert list(before.columns) == list(after.columns)
    for column in before.columns:
        if column == "model_version_id" or column == "sql_expression":
            continue  # both carry the parameters' digits (last-bit differences included)
        if pd.api.types.is_float_dtype(before[column]):
            np.testing.assert_allclose(after[column], before[column], rtol=1e-9, atol=1e-12)
        else:
            assert after[column].tolist() == before[column].tolist(), column


@pytest.fixture(scope="module")
def refitted(demo_copy) -> tuple[dict[str, pd.DataFrame], Path]:
    """dbt's tables of the kept model, and the warehouse after the fit beside dbt made them
    again from the same features (the registry emptied first, so it trains as dbt did)."""
    database = demo_copy.database
    before = {table: query_frame(database, f"select * from {table}") for table in FIT_TABLES}
    with duckdb.connect(str(database)) as con:
        con.execute("drop table ml.ml_registry_runs")
    done = _fit_model(database)
    assert done.returncode == 0, done.stdout + done.stderr
    return before, database


def test_the_fit_beside_dbt_makes_the_model_dbt_makes(refitted) -> None:
    before, database = refitted
    _numbers_close(
        before["ml.ml_segment_representatives"],
        query_frame(database, "select * from ml.ml_segment_representatives"),
        ["segment_id", "feature_name"],
    )
    _numbers_close(
        before["ml.ml_feature_transform_params"],
        query_frame(database, "select * from ml.ml_feature_transform_params"),
        ["feature_name"],
    )
    customers = query_frame(database, "select count(*) as n from marts.fct_customer_features")
    evaluated = query_frame(database, "select count(*) as n from ml.ml_customer_evaluation")
    # the demo holds fewer customers than fit_sample_size: the sample is all of them
    assert evaluated["n"].tolist() == customers["n"].tolist()


def test_the_python_twin_of_the_sql_scoring_gives_the_sql_rows(demo_build) -> None:
    database = demo_build.database
    features = query_frame(database, "select * from marts.fct_customer_features")
    twin = scoring.assignments(
        features,
        query_frame(database, "select * from ml.ml_feature_transform_params"),
        query_frame(database, "select * from ml.ml_segment_representatives"),
        query_frame(database, "select * from ml.ml_segment_model"),
    )
    sql = query_frame(database, "select * from ml.ml_customer_assignments")
    twin = twin.sort_values("customer_id").reset_index(drop=True)
    sql = sql.sort_values("customer_id").reset_index(drop=True)
    assert list(twin.columns) == list(sql.columns)
    for column in ("customer_id", "segment_id", "model_version_id", "assignment_method"):
        assert twin[column].astype(str).tolist() == sql[column].astype(str).tolist(), column
    for column in ("is_in_fit_sample", "is_noise", "outlier_feature_count", "is_outlier"):
        assert twin[column].tolist() == sql[column].tolist(), column
    np.testing.assert_allclose(
        twin["distance_to_representative"], sql["distance_to_representative"], rtol=1e-9
    )
    assert pd.to_datetime(twin["as_of_date"]).tolist() == pd.to_datetime(sql["as_of_date"]).tolist()


def test_a_failed_fit_names_the_model_and_leaves_the_tables(refitted) -> None:
    _, database = refitted
    before = {table: query_frame(database, f"select * from {table}") for table in FIT_TABLES}
    runs = query_frame(database, "select * from ml.ml_registry_runs")
    # a scaler the SQL scoring cannot apply: the registry refuses to train with it
    done = _fit_model(database, "--vars", "{segmentation: {scaler: quantile}, retrain: true}")
    assert done.returncode == 2
    assert "ml_registry_runs" in done.stderr and "quantile" in done.stderr
    for table, rows in before.items():
        pd.testing.assert_frame_equal(query_frame(database, f"select * from {table}"), rows)
    pd.testing.assert_frame_equal(query_frame(database, "select * from ml.ml_registry_runs"), runs)

"""The fit beside dbt without dbt: the sample rule, the plan's order, the runner's inputs and
append semantics, the writer's types and its all-or-nothing writes (on DuckDB, whose client
the command also supports)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from segmentation.io import tables as registry
from segmentation.warehouse_fit import plan as planning
from segmentation.warehouse_fit.plan import Plan, PlanError, Relation, Step
from segmentation.warehouse_fit.runner import FitError, Runner
from segmentation.warehouse_fit.sample import restricted_query, sample_query
from segmentation.warehouse_fit.warehouses import (
    DuckDBWarehouse,
    TableWrite,
    WarehouseError,
    column_kinds,
    column_type,
    create_table_sql,
    python_rows,
    staging_sql,
    swap_sql,
)

FEATURES = Relation(None, "marts", "fct_customer_features")


def _warehouse(tmp_path: Path, customer_ids: list[str]) -> DuckDBWarehouse:
    tmp_path.mkdir(parents=True, exist_ok=True)
    warehouse = DuckDBWarehouse.connect(str(tmp_path / "w.duckdb"))
    con = warehouse.connection
    con.execute("create schema marts")
    frame = pd.DataFrame(
        {
            "customer_id": customer_ids,
            "monetary_amount": np.arange(len(customer_ids), dtype=float) * 1.5,
            "as_of_date": dt.date(2026, 1, 1),
        }
    )
    con.register("frame", frame)
    con.execute("create table marts.fct_customer_features as select * from frame")
    con.unregister("frame")
    return warehouse


def _smallest_digests(ids: list[str], size: int) -> list[str]:
    """The sample rule computed apart from any engine: the ids of the smallest MD5 digests."""
    return sorted(sorted(ids, key=lambda i: (hashlib.md5(i.encode()).hexdigest(), i))[:size])


# -- the sample ------------------------------------------------------------------------------


def test_the_sample_is_the_same_customers_whatever_order_the_table_holds(tmp_path: Path) -> None:
    ids = [str(12000 + n) for n in range(300)]
    shuffled = list(np.random.default_rng(7).permutation(ids))
    first = _warehouse(tmp_path / "a", ids)
    second = _warehouse(tmp_path / "b", shuffled)
    query = sample_query(FEATURES.name, 40, "duckdb")
    one, two = first.query(query), second.query(query)
    assert one["customer_id"].tolist() == two["customer_id"].tolist()
    assert one["customer_id"].tolist() == _smallest_digests(ids, 40)
    assert one["customer_id"].is_monotonic_increasing


def test_a_table_smaller_than_the_bound_is_read_whole(tmp_path: Path) -> None:
    ids = [f"c{n}" for n in range(25)]
    frame = _warehouse(tmp_path, ids).query(sample_query(FEATURES.name, 1000, "duckdb"))
    assert sorted(frame["customer_id"]) == sorted(ids)


def test_other_per_customer_tables_are_read_for_the_sampled_customers(tmp_path: Path) -> None:
    ids = [f"c{n}" for n in range(60)]
    warehouse = _warehouse(tmp_path, ids)
    warehouse.connection.execute(
        "create table marts.extra as select customer_id, 1 as flag from marts.fct_customer_features"
    )
    sample = sample_query(FEATURES.name, 10, "duckdb")
    rows = warehouse.query(restricted_query("marts.extra", sample))
    assert rows["customer_id"].tolist() == _smallest_digests(ids, 10)


def test_each_engine_hashes_the_id_as_its_own_text() -> None:
    assert "md5(cast(customer_id as text))" in sample_query("m.t", 5, "postgres")
    assert "md5(cast(customer_id as string))" in sample_query("m.t", 5, "spark")
    with pytest.raises(ValueError, match="bigquery"):
        sample_query("m.t", 5, "bigquery")
    with pytest.raises(ValueError, match="at least 1"):
        sample_query("m.t", 0, "duckdb")
    with pytest.raises(ValueError, match="plain"):
        sample_query("m.t; drop table x", 5, "duckdb")


# -- the plan ------------------------------------------------------------------------------


def _node(name: str, language: str, parents: list[str], resource: str = "model") -> dict:
    return {
        "name": name,
        "resource_type": resource,
        "language": language,
        "schema": "ml" if name.startswith("ml_") else "marts",
        "alias": name,
        "raw_code": "def model(dbt, session):\n    return None\n",
        "original_file_path": f"models/{name}.py",
        "config": {"materialized": "fit_model_table"},
        "depends_on": {"nodes": [f"model.p.{parent}" for parent in parents]},
    }


def _manifest() -> dict[str, Any]:
    nodes = [
        _node("stg_x", "sql", []),
        _node("fct_customer_features", "sql", ["stg_x"]),
        _node("ml_registry_runs", "python", ["fct_customer_features"]),
        _node("ml_segment_model", "python", ["ml_registry_runs"]),
        # an SQL model scoring with a Python model's table, read by a later Python model
        _node("ml_customer_assignments", "sql", ["fct_customer_features", "ml_segment_model"]),
        _node("ml_customer_evaluation", "python", ["ml_customer_assignments"]),
        _node("ml_runtime_environment", "python", []),
    ]
    return {"nodes": {f"model.p.{node['name']}": node for node in nodes}}


def test_a_model_reading_an_sql_model_runs_after_the_python_models_upstream_of_it() -> None:
    plan = planning.plan_from_manifest(_manifest())
    order = [step.name for step in plan.steps]
    assert order == [
        "ml_registry_runs",
        "ml_runtime_environment",
        "ml_segment_model",
        "ml_customer_evaluation",
    ]
    # dbt builds what needs no Python model before the fit; the fit stands in for the rest
    assert plan.upstream_inputs == ("fct_customer_features",)
    assert set(plan.inputs) == {"fct_customer_features", "ml_customer_assignments"}


def test_a_cycle_and_an_unknown_model_are_named() -> None:
    steps = {
        name: Step(name, Relation(None, "ml", name), "", "", refs=(other,))
        for name, other in (("ml_a", "ml_b"), ("ml_b", "ml_a"))
    }
    with pytest.raises(PlanError, match="cycle"):
        planning.dependency_order(steps)
    with pytest.raises(PlanError, match="ml_nope"):
        planning.select_steps(planning.plan_from_manifest(_manifest()), ["ml_nope"])


def test_the_inputs_are_built_with_their_tests_alone_and_the_rest_after() -> None:
    inputs = ["fct_customer_features", "persona_rules"]
    args = planning.build_inputs_args(inputs)
    assert args[:4] == ["build", "--select", "+fct_customer_features", "+persona_rules"]
    assert args[args.index("--indirect-selection") + 1] == "cautious"
    assert "unit_test" in args and "unit_test" not in planning.build_inputs_args(inputs, True)
    rest = planning.build_rest_args(inputs)
    assert rest[:4] == ["build", "--exclude", "+fct_customer_features", "+persona_rules"]
    assert rest[rest.index("--indirect-selection") + 1] == "cautious"


# -- the runner ----------------------------------------------------------------------------

COUNTING_MODEL = """
import pandas as pd

def model(dbt, session):
    features = dbt.ref("fct_customer_features")
    return pd.DataFrame({
        "customers": [len(features)],
        "setting": [dbt.config.get("setting")],
        "incremental": [bool(dbt.is_incremental)],
    })
"""

READING_MODEL = """
def model(dbt, session):
    return dbt.ref("ml_counts").assign(seen=1)
"""


def _plan(code: dict[str, str], appends: bool = True) -> Plan:
    config = {"setting": 7, **({"incremental_strategy": "append"} if appends else {})}
    counts = Step(
        "ml_counts",
        Relation(None, "ml", "ml_counts"),
        code["ml_counts"],
        "models/ml_counts.py",
        refs=("fct_customer_features",),
        config=config,
    )
    reader = Step(
        "ml_reader",
        Relation(None, "ml", "ml_reader"),
        code.get("ml_reader", READING_MODEL),
        "models/ml_reader.py",
        refs=("ml_counts",),
    )
    return Plan((counts, reader), {"fct_customer_features": FEATURES})


def test_the_runner_gives_models_the_sample_their_config_and_earlier_tables(
    tmp_path: Path,
) -> None:
    warehouse = _warehouse(tmp_path, [f"c{n}" for n in range(50)])
    plan = _plan({"ml_counts": COUNTING_MODEL})
    result = Runner(plan, warehouse, sample_size=20, echo=lambda _: None).run()
    assert result.sample_rows == 20
    counts = result.tables["ml_counts"]
    assert counts[["customers", "setting", "incremental"]].values.tolist() == [[20, 7, False]]
    assert result.tables["ml_reader"]["seen"].tolist() == [1]
    warehouse.replace_tables(result.writes(plan))
    # a second run appends to the table the first one wrote, and says it is incremental
    again = Runner(plan, warehouse, sample_size=20, echo=lambda _: None).run()
    assert again.tables["ml_counts"]["incremental"].tolist() == [False, True]
    assert len(again.tables["ml_reader"]) == 2


def test_a_failing_model_is_named_with_its_file_and_nothing_is_written(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path, ["a", "b", "c"])
    plan = _plan({"ml_counts": COUNTING_MODEL})
    warehouse.replace_tables(Runner(plan, warehouse, 10, echo=lambda _: None).run().writes(plan))
    before = warehouse.query("select * from ml.ml_counts")
    broken = _plan(
        {
            "ml_counts": COUNTING_MODEL,
            "ml_reader": "def model(dbt, session):\n    raise ValueError('no column x')\n",
        }
    )
    with pytest.raises(FitError, match=r"ml_reader \(models/ml_reader.py\).*no column x"):
        Runner(broken, warehouse, 10, echo=lambda _: None).run()
    pd.testing.assert_frame_equal(warehouse.query("select * from ml.ml_counts"), before)


def test_a_missing_feature_table_says_how_to_build_it(tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse.connect(str(tmp_path / "empty.duckdb"))
    plan = _plan({"ml_counts": COUNTING_MODEL})
    with pytest.raises(FitError, match=r"(?s)marts.fct_customer_features.*--build-inputs"):
        Runner(plan, warehouse, 10, echo=lambda _: None).run()


# -- the writer ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "postgres", "spark"),
    [
        (registry.STRING, "text", "string"),
        (registry.INT, "bigint", "bigint"),
        (registry.NULLABLE_INT, "bigint", "bigint"),
        (registry.FLOAT, "double precision", "double"),
        (registry.BOOL, "boolean", "boolean"),
        (registry.DATE, "date", "date"),
        (registry.TIMESTAMP, "timestamp", "timestamp"),
    ],
)
def test_every_column_kind_has_each_engines_type(kind: str, postgres: str, spark: str) -> None:
    assert column_type(kind, "postgres") == postgres
    assert column_type(kind, "spark") == spark


def test_kinds_come_from_the_registry_and_extra_columns_from_their_dtype() -> None:
    rows = registry.conform(
        [{"segment_id": 1, "feature_name": "f", "value_scaled": 0.5}],
        "ml_segment_representatives",
    ).assign(extra_count=pd.array([None], dtype="Int64"), extra_day=pd.Timestamp("2026-01-02"))
    kinds = column_kinds(TableWrite(Relation(None, "ml", "r"), "ml_segment_representatives", rows))
    assert kinds["segment_id"] == registry.INT
    assert kinds["model_version_id"] == registry.STRING
    assert kinds["is_model_input"] == registry.BOOL
    assert kinds["extra_count"] == registry.NULLABLE_INT
    assert kinds["extra_day"] == registry.TIMESTAMP
    assert create_table_sql("ml.r", {"a": registry.FLOAT, "b": registry.DATE}, "spark") == (
        "create table ml.r (a double, b date) using parquet"
    )


def test_rows_are_plain_python_values_with_null_for_nan() -> None:
    rows = registry.conform(
        [
            {"run_id": 3, "as_of_date": "2026-02-01", "decision": None, "n_customers": 5},
        ],
        "ml_registry_runs",
    )
    [row] = python_rows(TableWrite(Relation(None, "ml", "x"), "ml_registry_runs", rows))
    values = dict(zip(registry.columns("ml_registry_runs"), row, strict=True))
    assert values["run_id"] == 3 and type(values["run_id"]) is int
    assert values["as_of_date"] == dt.date(2026, 2, 1)
    assert values["decision"] is None
    assert values["created_at"] is None


def test_a_failed_write_leaves_every_table_as_it_was(tmp_path: Path) -> None:
    warehouse = DuckDBWarehouse.connect(str(tmp_path / "w.duckdb"))
    good = [
        TableWrite(Relation(None, "ml", "ml_a"), "ml_a", pd.DataFrame({"n": [1, 2]})),
        TableWrite(Relation(None, "ml", "ml_b"), "ml_b", pd.DataFrame({"n": [3]})),
    ]
    warehouse.replace_tables(good)
    bad = [
        TableWrite(Relation(None, "ml", "ml_a"), "ml_a", pd.DataFrame({"n": [9, 9, 9]})),
        # declared an integer by the registry's kind of this table, the value is not one
        TableWrite(
            Relation(None, "ml", "ml_b"),
            "ml_segment_model",
            pd.DataFrame({"n_segments": ["not a number"]}),
        ),
    ]
    with pytest.raises((WarehouseError, ValueError)):
        warehouse.replace_tables(bad)
    assert warehouse.query("select n from ml.ml_a order by n")["n"].tolist() == [1, 2]
    assert warehouse.query("select n from ml.ml_b")["n"].tolist() == [3]
    leftovers = duckdb.connect(str(tmp_path / "w.duckdb"))
    warehouse.close()
    names = [r[0] for r in leftovers.execute("select table_name from duckdb_tables()").fetchall()]
    assert sorted(names) == ["ml_a", "ml_b"]


def test_tables_are_staged_beside_their_destination_then_swapped_in() -> None:
    write = TableWrite(Relation(None, "ml", "ml_a"), "ml_a", pd.DataFrame({"n": [1]}))
    assert staging_sql(write, "postgres") == [
        "create schema if not exists ml",
        "drop table if exists ml.ml_a__fit_new",
        "create table ml.ml_a__fit_new (n bigint)",
    ]
    assert swap_sql(write, "postgres") == [
        "drop table if exists ml.ml_a",
        "alter table ml.ml_a__fit_new rename to ml_a",
    ]
    # Spark: a database, a Parquet table, and the new name in full
    assert staging_sql(write, "spark")[0] == "create database if not exists ml"
    assert staging_sql(write, "spark")[2].endswith("using parquet")
    assert swap_sql(write, "spark")[1] == "alter table ml.ml_a__fit_new rename to ml.ml_a"

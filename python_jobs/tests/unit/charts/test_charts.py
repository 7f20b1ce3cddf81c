"""Charts drawn from a small warehouse written here (synthetic customers, the real engine)."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from segmentation import cli
from segmentation.benchmark.synthetic import synthetic_customer_features
from segmentation.charts import (
    CHART_NAMES,
    DRAWN,
    FAILED,
    INDEX_FILE,
    SKIPPED,
    Chart,
    ChartSkipped,
    read_index,
    render_charts,
    segment_colour,
    segment_label,
)
from segmentation.charts import render as render_module
from segmentation.charts.monitoring import (
    MIGRATION,
    MODEL_MIGRATION,
    REGISTRY_RUNS,
    SIZE_HISTORY,
    STABILITY,
)
from segmentation.charts.optional_inputs import ATTRIBUTE_PROFILES, ENGAGEMENT_PROFILES
from segmentation.charts.source import ChartSource, prepared_features, segment_names
from segmentation.config.segmentation import SegmentationSettings
from segmentation.describe.engagement import ENGAGEMENT_FEATURES
from segmentation.engine.fit import run_segmentation
from segmentation.engine.prepare import FeaturePreparer
from segmentation.registry.migration import migration_rows

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SETTINGS = {
    "algorithms": ["kmeans", "agglomerative", "dbscan"],
    "kmeans": {"k_min": 2, "k_max": 5, "n_init": 2},
    "agglomerative": {"k_min": 2, "k_max": 4, "linkages": ["ward"]},
    "dbscan": {"min_samples": [10]},
}
# Charts whose tables the fixture writes from the engine's own output.
CORE_CHARTS = (
    "model_selection",
    "silhouette",
    "segment_projection",
    "segment_profiles",
    "segment_sizes",
    "rfm_grid",
)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG header (fails when the file is not a PNG)."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def write_table(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    schema = table.split(".")[0]
    con.execute(f"create schema if not exists {schema}")
    con.register("frame", frame)
    con.execute(f"create or replace table {table} as select * from frame")
    con.unregister("frame")


def dim_segments(features: pd.DataFrame, assignments: pd.DataFrame) -> pd.DataFrame:
    joined = features.merge(assignments[["customer_id", "segment_id"]], on="customer_id")
    grouped = joined.groupby("segment_id").agg(
        customer_count=("customer_id", "size"), revenue_amount=("monetary_amount", "sum")
    )
    grouped["customer_share"] = grouped["customer_count"] / grouped["customer_count"].sum()
    grouped["revenue_share"] = grouped["revenue_amount"] / grouped["revenue_amount"].sum()
    grouped = grouped.reset_index()
    grouped["segment_name"] = [f"Segment {sid}" for sid in grouped["segment_id"]]
    return grouped


def customer_rfm(features: pd.DataFrame) -> pd.DataFrame:
    recency = 5 - pd.qcut(features["recency_days"].rank(method="first"), 5, labels=False)
    value = 1 + pd.qcut(features["monetary_amount"].rank(method="first"), 5, labels=False)
    names = np.where(recency >= 4, np.where(value >= 4, "Champions", "Promising"), "Lost")
    return pd.DataFrame(
        {
            "customer_id": features["customer_id"],
            "recency_score": recency.astype(int),
            "frequency_monetary_score": value.astype(int),
            "rfm_segment_name": names,
        }
    )


def stability(segment_ids: np.ndarray) -> pd.DataFrame:
    segments = np.unique(segment_ids)
    return pd.DataFrame(
        {
            "segment_id": segments,
            "mean_jaccard": np.linspace(0.95, 0.6, len(segments)),
            "min_jaccard": np.linspace(0.8, 0.3, len(segments)),
            "recovered_count": np.arange(len(segments)) + 10,
            "resamples_with_segment": 20,
        }
    )


def assignment_history(assignments: pd.DataFrame) -> pd.DataFrame:
    """Three scoring runs: the assignments, then with some customers moved, gone and new."""
    runs = []
    for run_id, day in enumerate(["2011-10-01", "2011-11-01", "2011-12-01"], start=1):
        frame = assignments[["customer_id", "segment_id"]].copy()
        frame["segment_id"] = np.where(
            np.arange(len(frame)) % 7 < run_id - 1, frame["segment_id"] % 4 + 1, frame["segment_id"]
        )
        frame = frame.iloc[run_id * 5 :]  # the first customers drop out run by run
        frame["run_id"] = run_id
        frame["as_of_date"] = pd.Timestamp(day).date()
        runs.append(frame)
    return pd.concat(runs, ignore_index=True)


def registry_runs() -> pd.DataFrame:
    """Like ml.ml_registry_runs for the three runs: the first trained v0001, the third v0002."""
    return pd.DataFrame(
        {
            "run_id": [1, 2, 3],
            "as_of_date": [
                pd.Timestamp(d).date() for d in ("2011-10-01", "2011-11-01", "2011-12-01")
            ],
            "model_version_id": [
                "v0001-2011-10-01-kmeans-a",
                "v0001-2011-10-01-kmeans-a",
                "v0002-2011-12-01-kmeans-b",
            ],
            "is_training_run": [True, False, True],
            "reason_codes": ["first_model", "", "feature_drift"],
        }
    )


def model_migration(history: pd.DataFrame) -> pd.DataFrame:
    """Like ml.ml_model_migration for v0002: the third run's customers under v0001 (their
    segment in the second run) and under v0002 (their segment in the third)."""
    before = history[history["run_id"] == 2].set_index("customer_id")["segment_id"]
    after = history[history["run_id"] == 3].set_index("customer_id")["segment_id"]
    both = pd.concat([before.rename("previous"), after.rename("new")], axis=1, join="inner")
    rows = migration_rows(both["previous"].to_numpy(), both["new"].to_numpy())
    return pd.DataFrame(rows).assign(
        model_version_id="v0002-2011-12-01-kmeans-b",
        previous_model_version_id="v0001-2011-10-01-kmeans-a",
    )


def segment_migration(history: pd.DataFrame) -> pd.DataFrame:
    """Like monitoring.mon_segment_migration: counts per consecutive run pair and move."""
    rows = []
    for before_id, after_id in [(1, 2), (2, 3)]:
        before = history[history["run_id"] == before_id]
        after = history[history["run_id"] == after_id]
        both = before.merge(after, on="customer_id", how="outer", suffixes=("_from", "_to"))
        counts = (
            both.groupby(["segment_id_from", "segment_id_to"], dropna=False)
            .size()
            .reset_index(name="customer_count")
        )
        for row in counts.itertuples(index=False):
            rows.append(
                {
                    "from_run_id": before_id,
                    "from_as_of_date": before["as_of_date"].iloc[0],
                    "to_run_id": after_id,
                    "to_as_of_date": after["as_of_date"].iloc[0],
                    "from_segment_id": row.segment_id_from,
                    "to_segment_id": row.segment_id_to,
                    "customer_count": row.customer_count,
                }
            )
    frame = pd.DataFrame(rows)
    for column in ("from_segment_id", "to_segment_id"):
        frame[column] = frame[column].astype("Int64")
    return frame


def engagement_profiles(assignments: pd.DataFrame, seed: int = 5) -> pd.DataFrame:
    """Like marts.fct_segment_engagement_profiles, from random per-customer engagement."""
    rng = np.random.default_rng(seed)
    customers = assignments[["customer_id", "segment_id"]].copy()
    rows = []
    for position, feature in enumerate(ENGAGEMENT_FEATURES, start=1):
        values = pd.Series(rng.gamma(2.0, 1.0 + customers["segment_id"] % 3, len(customers)))
        values[rng.random(len(customers)) < 0.3] = np.nan  # partial coverage
        for segment_id, in_segment in values.groupby(customers["segment_id"].to_numpy()):
            rows.append(
                {
                    "segment_id": segment_id,
                    "feature_name": feature,
                    "feature_position": position,
                    "segment_customers": len(in_segment),
                    "customers_with_value": in_segment.notna().sum(),
                    "coverage": in_segment.notna().mean(),
                    "population_coverage": values.notna().mean(),
                    "segment_mean": in_segment.mean(),
                    "population_mean": values.mean(),
                    "lift": in_segment.mean() / values.mean(),
                }  # fmt: skip
            )
    return pd.DataFrame(rows)


def attribute_profiles(assignments: pd.DataFrame, seed: int = 6) -> pd.DataFrame:
    """Like marts.fct_segment_attribute_profiles, for two attributes known for a third."""
    rng = np.random.default_rng(seed)
    rows = []
    for attribute, categories in (
        ("age_band", ["18-34", "35-54", "55+"]),
        ("kids", ["0", "1", "2"]),
    ):
        known = assignments[rng.random(len(assignments)) < 0.35].copy()
        known["category"] = rng.choice(categories, len(known))
        overall = known["category"].value_counts(normalize=True)
        for segment_id, size in assignments["segment_id"].value_counts().items():
            in_segment = known[known["segment_id"] == segment_id]
            for category in categories:
                share = (in_segment["category"] == category).mean() if len(in_segment) else np.nan
                rows.append(
                    {
                        "segment_id": segment_id,
                        "attribute_name": attribute,
                        "attribute_type": "categorical",
                        "attribute_category": category,
                        "segment_customers": size,
                        "customers_with_attribute": len(in_segment),
                        "category_customers": int((in_segment["category"] == category).sum()),
                        "coverage": len(in_segment) / size,
                        "population_coverage": len(known) / len(assignments),
                        "category_share": share,
                        "population_share": overall.get(category, 0.0),
                        "lift": share / overall.get(category, np.nan),
                    }  # fmt: skip
                )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with every table the charts read, from the real engine on 400 customers."""
    features, _ = synthetic_customer_features(400, n_groups=4, random_state=3)
    result = run_segmentation(features, SegmentationSettings.from_mapping(SETTINGS))
    path = tmp_path_factory.mktemp("charts") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        write_table(con, "marts.fct_customer_features", features)
        write_table(con, "ml.ml_feature_transform_params", result.params)
        write_table(con, "ml.ml_model_candidates", result.candidates)
        write_table(con, "ml.ml_segment_model", result.model)
        write_table(con, "ml.ml_segment_representatives", result.representatives)
        write_table(con, "ml.ml_customer_assignments", result.assignments)
        write_table(con, "marts.dim_segments", dim_segments(features, result.assignments))
        write_table(con, "marts.fct_customer_rfm", customer_rfm(features))
        write_table(con, ENGAGEMENT_PROFILES, engagement_profiles(result.assignments))
        write_table(con, ATTRIBUTE_PROFILES, attribute_profiles(result.assignments))
        segment_ids = result.assignments["segment_id"].to_numpy()
        write_table(con, STABILITY, stability(segment_ids))
        history = assignment_history(result.assignments)
        write_table(con, SIZE_HISTORY, history)
        write_table(con, MIGRATION, segment_migration(history))
        write_table(con, REGISTRY_RUNS, registry_runs())
        write_table(con, MODEL_MIGRATION, model_migration(history))
    return path


@pytest.fixture(scope="module")
def drawn(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list, list]:
    """Every chart drawn once from the complete warehouse: (folder, results, log lines)."""
    output = tmp_path_factory.mktemp("charts_out")
    lines: list[str] = []
    results = render_charts(warehouse, output, log=lines.append)
    return output, results, lines


def test_every_chart_is_drawn_as_a_non_empty_png(drawn) -> None:
    output, results, lines = drawn
    assert [result.name for result in results] == list(CHART_NAMES)
    assert {result.name: result.status for result in results} == dict.fromkeys(CHART_NAMES, DRAWN)
    for name in CHART_NAMES:
        path = output / f"{name}.png"
        width, height = png_size(path)
        # a real chart, not the small "not drawn yet" placeholder (about 990 x 176 pixels)
        assert width >= 800 and height >= 350, (name, width, height)
        assert path.stat().st_size > 20_000, name
    assert lines == [f"wrote {output / f'{name}.png'}" for name in CHART_NAMES]
    index = json.loads((output / INDEX_FILE).read_text())
    assert [entry["file_name"] for entry in index] == [f"{name}.png" for name in CHART_NAMES]
    assert not list(output.glob(".*partial"))


def test_missing_tables_skip_with_a_log_line_and_a_placeholder(tmp_path: Path) -> None:
    features, _ = synthetic_customer_features(150, n_groups=3, random_state=5)
    settings = SegmentationSettings.from_mapping({"algorithms": ["kmeans"], "kmeans": {"k_max": 4}})
    result = run_segmentation(features, settings)
    database = tmp_path / "partial.duckdb"
    with duckdb.connect(str(database)) as con:
        write_table(con, "ml.ml_model_candidates", result.candidates)
    output = tmp_path / "charts"
    output.mkdir()
    stale = output / "segment_sizes.png"
    stale.write_bytes(b"an old chart from another warehouse")
    lines: list[str] = []
    results = {r.name: r for r in render_charts(database, output, log=lines.append)}
    assert results["model_selection"].status == DRAWN
    sizes = results["segment_sizes"]
    assert sizes.status == SKIPPED and sizes.reason == "marts.dim_segments does not exist yet"
    assert "skipped segment_sizes: marts.dim_segments does not exist yet" in lines
    assert "skipped segment_migration: monitoring.mon_segment_migration does not exist yet" in lines
    assert any(line.startswith(f"skipped model_migration: {MODEL_MIGRATION}") for line in lines)
    for name in CHART_NAMES:
        png_size(output / f"{name}.png")  # every file the docs link exists and is a PNG
    width, height = png_size(stale)
    assert width < 1100 and height < 250  # the stale chart gave way to the placeholder
    statuses = {
        entry["name"]: entry["status"] for entry in json.loads((output / INDEX_FILE).read_text())
    }
    assert statuses == {name: results[name].status for name in CHART_NAMES}


def test_an_empty_table_is_skipped_not_drawn(tmp_path: Path, warehouse: Path) -> None:
    database = tmp_path / "empty.duckdb"
    with (
        duckdb.connect(str(database)) as con,
        duckdb.connect(str(warehouse), read_only=True) as src,
    ):
        dims = src.execute("select * from marts.dim_segments").df()
        write_table(con, "marts.dim_segments", dims.iloc[:0])
        history = src.execute(f"select * from {SIZE_HISTORY}").df()
        write_table(
            con, SIZE_HISTORY, history[history["as_of_date"] == history["as_of_date"].min()]
        )
        write_table(con, MIGRATION, src.execute(f"select * from {MIGRATION} limit 0").df())
        for table in (MODEL_MIGRATION, REGISTRY_RUNS):
            write_table(con, table, src.execute(f"select * from {table} limit 0").df())
    only = ["segment_sizes", "segment_sizes_over_time", "segment_migration", "model_migration"]
    results = render_charts(database, tmp_path / "out", names=only, log=lambda line: None)
    assert [(r.status, r.reason) for r in results] == [
        (SKIPPED, "marts.dim_segments has no rows"),
        (SKIPPED, f"{SIZE_HISTORY} has one run so far (two are needed for a trend)"),
        (SKIPPED, f"{MIGRATION} is empty: one scoring run so far (two are compared)"),
        (SKIPPED, f"{MODEL_MIGRATION} is empty: no retrain so far (one model version)"),
    ]


def test_the_warehouse_is_read_only_and_closed_afterwards(warehouse: Path, tmp_path: Path) -> None:
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    render_charts(warehouse, tmp_path, names=["segment_sizes"], log=lambda line: None)
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before
    # DuckDB refuses a writing connection in a process that still holds a read-only one
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("select count(*) from marts.dim_segments").fetchall()[0][0] > 1


def test_prepared_features_reapply_the_stored_sql_expressions(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        source = ChartSource(con)
        prepared = prepared_features(source)
        features = con.execute(
            "select * from marts.fct_customer_features order by customer_id"
        ).df()
        params = con.execute("select * from ml.ml_feature_transform_params").df()
        assignments = con.execute(
            "select customer_id, segment_id from ml.ml_customer_assignments order by customer_id"
        ).df()
    settings = SegmentationSettings.from_mapping(SETTINGS)
    expected = FeaturePreparer.from_params(params, settings.preparation).transform(features)
    assert prepared.how == "sql_expression"
    np.testing.assert_allclose(prepared.matrix, expected, rtol=1e-9, atol=1e-9)
    assert list(prepared.customer_ids) == list(assignments["customer_id"])
    assert list(prepared.segment_ids) == list(assignments["segment_id"])


def test_a_fit_that_is_not_sql_scorable_is_recomputed_and_standardised(
    warehouse: Path, tmp_path: Path
) -> None:
    database = tmp_path / "quantile.duckdb"
    with (
        duckdb.connect(str(database)) as con,
        duckdb.connect(str(warehouse), read_only=True) as src,
    ):
        for table in ("marts.fct_customer_features", "ml.ml_customer_assignments"):
            write_table(con, table, src.execute(f"select * from {table}").df())
        params = src.execute("select * from ml.ml_feature_transform_params").df()
        params["is_sql_scorable"] = False
        params["sql_expression"] = None
        params[["centre", "scale"]] = np.nan
        write_table(con, "ml.ml_feature_transform_params", params)
    with duckdb.connect(str(database), read_only=True) as con:
        prepared = prepared_features(ChartSource(con))
    assert prepared.how == "recomputed"
    assert prepared.matrix.shape == (400, int(params["is_used"].sum()))
    np.testing.assert_allclose(prepared.matrix.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(prepared.matrix.std(axis=0), 1, atol=1e-9)


def test_a_chart_that_fails_is_reported_and_the_others_are_still_drawn(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(source: ChartSource):
        raise ZeroDivisionError("division by zero")

    charts = (
        Chart("broken", "A broken chart", ("marts.dim_segments",), broken),
        *[chart for chart in render_module.CHARTS if chart.name == "segment_sizes"],
    )
    monkeypatch.setattr(render_module, "CHARTS", charts)
    monkeypatch.setattr(render_module, "CHART_NAMES", ("broken", "segment_sizes"))
    lines: list[str] = []
    results = render_charts(warehouse, tmp_path, log=lines.append)
    assert [(r.name, r.status) for r in results] == [("broken", FAILED), ("segment_sizes", DRAWN)]
    assert lines[0] == "FAILED broken: ZeroDivisionError: division by zero"
    png_size(tmp_path / "broken.png")


def test_segment_colours_are_fixed_by_id_and_distinct() -> None:
    colours = [segment_colour(segment_id) for segment_id in range(1, 11)]
    assert len(set(colours)) == 10
    assert segment_colour(3) == colours[2]  # the same in every chart and every run
    assert segment_label(3, "Segment 3") == "Segment 3"
    assert segment_label(3, "Bargain hunters") == "3 · Bargain hunters"


def test_persona_names_are_preferred_when_dim_segments_has_them(tmp_path: Path) -> None:
    database = tmp_path / "names.duckdb"
    frame = pd.DataFrame(
        {
            "segment_id": [1, 2],
            "segment_name": ["Segment 1", "Segment 2"],
            "persona_name": ["Loyal big spenders", None],
        }
    )
    with duckdb.connect(str(database)) as con:
        write_table(con, "marts.dim_segments", frame)
    with duckdb.connect(str(database), read_only=True) as con:
        assert segment_names(ChartSource(con)) == {1: "Loyal big spenders", 2: "Segment 2"}


def test_chart_skipped_is_raised_for_a_model_with_one_feature(tmp_path: Path) -> None:
    from segmentation.charts.model import segment_projection

    database = tmp_path / "one.duckdb"
    features, _ = synthetic_customer_features(60, n_groups=2, random_state=1)
    settings = SegmentationSettings.from_mapping(
        {"features": ["monetary_amount"], "algorithms": ["kmeans"], "kmeans": {"k_max": 3}}
    )
    result = run_segmentation(features, settings)
    with duckdb.connect(str(database)) as con:
        write_table(con, "marts.fct_customer_features", features)
        write_table(con, "ml.ml_feature_transform_params", result.params)
        write_table(con, "ml.ml_customer_assignments", result.assignments)
    with (
        duckdb.connect(str(database), read_only=True) as con,
        pytest.raises(ChartSkipped, match="fewer than two features"),
    ):
        segment_projection(ChartSource(con))


def test_job_errors_name_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    missing = tmp_path / "nowhere.duckdb"
    assert cli.main(["charts", "--database", str(missing), "--output", str(tmp_path)]) == 2
    assert f"no warehouse at {missing}" in capsys.readouterr().err
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    assert cli.main(["charts", "--database", str(empty), "--output", str(tmp_path / "o")]) == 2
    assert "no chart could be drawn" in capsys.readouterr().err
    assert cli.main(["charts", "--database", str(empty), "--only", "pie"]) == 2
    assert "unknown chart(s) ['pie']" in capsys.readouterr().err


def test_job_draws_the_named_charts(warehouse: Path, tmp_path: Path, capsys) -> None:
    argv = ["charts", "--database", str(warehouse), "--output", str(tmp_path)]
    assert cli.main([*argv, "--only", "segment_sizes", "--only", "rfm_grid"]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 charts drawn" in out
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["rfm_grid.png", "segment_sizes.png"]
    assert [r.name for r in read_index(tmp_path)] == ["segment_sizes", "rfm_grid"]


def test_the_optional_input_charts_say_why_they_are_not_drawn_without_the_inputs(
    warehouse: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "without.duckdb"
    copy.write_bytes(warehouse.read_bytes())
    with duckdb.connect(str(copy)) as con:
        con.execute(f"delete from {ENGAGEMENT_PROFILES}")
        con.execute(f"delete from {ATTRIBUTE_PROFILES}")
    results = render_charts(
        copy, tmp_path / "out", names=["engagement_lifts", "attribute_mix"], log=lambda _: None
    )
    assert {r.name: r.status for r in results} == {
        "engagement_lifts": "skipped",
        "attribute_mix": "skipped",
    }
    assert all("loaded" in (r.reason or "") for r in results)

"""End-to-end tests of the clustering engine on synthetic customer features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from segmentation.benchmark.synthetic import synthetic_customer_features
from segmentation.config.segmentation import SegmentationSettings
from segmentation.engine.fit import (
    customer_assignments,
    model_candidates,
    run_segmentation,
    transform_params,
)
from segmentation.engine.inputs import SegmentationInputError, clear_cache
from segmentation.engine.prepare import FeatureInputError
from segmentation.engine.selection import SelectionError

FAST = {
    "algorithms": ["kmeans", "agglomerative"],
    "kmeans": {"k_min": 2, "k_max": 6, "n_init": 3},
    "agglomerative": {"k_min": 2, "k_max": 5, "linkages": ["ward"], "fit_sample_size": 400},
    "selection": {"silhouette_sample_size": 500},
}


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, np.ndarray]:
    return synthetic_customer_features(1500, n_groups=4, random_state=7)


@pytest.fixture(scope="module")
def result(planted):
    return run_segmentation(planted[0], SegmentationSettings.from_mapping(FAST))


def test_every_customer_is_assigned_exactly_once(planted, result) -> None:
    features, _ = planted
    assignments = result.assignments
    assert sorted(assignments["customer_id"]) == sorted(features["customer_id"])
    assert assignments["customer_id"].is_unique
    assert assignments["segment_id"].min() == 1
    n_segments = int(result.model["n_segments"].iloc[0])
    assert set(assignments["segment_id"]) == set(range(1, n_segments + 1))


def test_winner_recovers_planted_groups(planted, result) -> None:
    features, groups = planted
    truth = pd.Series(groups, index=features["customer_id"])
    merged = result.assignments.set_index("customer_id")["segment_id"]
    assert adjusted_rand_score(truth.loc[merged.index], merged) >= 0.95
    assert int(result.candidates["is_winner"].sum()) == 1


def test_segment_ids_follow_median_revenue(planted, result) -> None:
    features, _ = planted
    merged = result.assignments.merge(features[["customer_id", "monetary_amount"]])
    medians = merged.groupby("segment_id")["monetary_amount"].median().sort_index()
    assert medians.is_monotonic_decreasing


def test_row_order_and_cache_do_not_change_assignments(planted, result) -> None:
    features, _ = planted
    settings = SegmentationSettings.from_mapping(FAST)
    clear_cache()
    shuffled = features.sample(frac=1.0, random_state=3)
    params = transform_params(shuffled, settings)
    candidates = model_candidates(shuffled, params, settings)
    clear_cache()  # the winner is refitted alone, from the candidates table
    again = customer_assignments(shuffled, params, candidates, settings)
    pd.testing.assert_frame_equal(
        again.sort_values("customer_id").reset_index(drop=True),
        result.assignments.sort_values("customer_id").reset_index(drop=True),
    )


def test_empty_input_gives_empty_tables_with_columns(planted) -> None:
    empty = planted[0].iloc[0:0]
    tables = run_segmentation(empty, SegmentationSettings.from_mapping(FAST))
    assert tables.assignments.empty and "segment_id" in tables.assignments.columns
    assert tables.candidates.empty and "is_winner" in tables.candidates.columns
    assert tables.params.empty and tables.model.empty


def test_single_customer_is_a_clear_error(planted) -> None:
    with pytest.raises(SegmentationInputError, match="1 customer"):
        run_segmentation(planted[0].iloc[:1], SegmentationSettings.from_mapping(FAST))


def test_same_seed_same_assignments_with_one_or_two_threads(planted) -> None:
    features, _ = planted
    settings = SegmentationSettings.from_mapping(
        {
            **FAST,
            "algorithms": ["kmeans", "gaussian_mixture", "agglomerative", "hdbscan"],
            "kmeans": {"k_min": 3, "k_max": 5, "n_init": 3},
            "gaussian_mixture": {"k_min": 3, "k_max": 4, "n_init": 1, "fit_sample_size": 800},
            "hdbscan": {"min_cluster_size": [60], "fit_sample_size": 600},
        }
    )
    runs = []
    for threads in (1, 2):
        clear_cache()
        with threadpool_limits(limits=threads):
            runs.append(run_segmentation(features, settings))
    pd.testing.assert_frame_equal(runs[0].assignments, runs[1].assignments)
    pd.testing.assert_frame_equal(runs[0].representatives, runs[1].representatives)
    metrics = ["candidate_id", "silhouette", "n_segments", "is_winner"]
    pd.testing.assert_frame_equal(runs[0].candidates[metrics], runs[1].candidates[metrics])


def test_different_seed_is_recorded_in_the_model(planted) -> None:
    features, _ = planted
    other = run_segmentation(
        features, SegmentationSettings.from_mapping({**FAST, "random_state": 5})
    )
    assert int(other.model["random_state"].iloc[0]) == 5


def test_fewer_customers_than_segments_skips_those_candidates(planted) -> None:
    small = planted[0].iloc[:6]
    settings = SegmentationSettings.from_mapping(
        {"algorithms": ["kmeans"], "kmeans": {"k_min": 2, "k_max": 8}, "clip_quantiles": None}
    )
    tables = run_segmentation(small, settings)
    skipped = tables.candidates[tables.candidates["status"] == "skipped"]
    assert sorted(skipped["n_segments_requested"].tolist()) == [6, 7, 8]
    assert skipped["status_message"].str.contains("there are 6").all()
    assert len(tables.assignments) == 6 and tables.assignments["segment_id"].min() == 1


def test_zero_variance_feature_is_reported_and_the_run_goes_on(planted) -> None:
    features = planted[0].assign(cancellation_rate=0.0)
    tables = run_segmentation(features, SegmentationSettings.from_mapping(FAST))
    row = tables.params.set_index("feature_name").loc["cancellation_rate"]
    assert not row["is_used"] and "zero variance" in row["exclusion_reason"]
    assert "cancellation_rate" not in tables.model["features_used"].iloc[0]
    assert len(tables.assignments) == len(features)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_infinite_feature_is_a_clear_error(planted, bad) -> None:
    features = planted[0].copy()
    features.loc[3, "avg_unit_price"] = bad
    with pytest.raises(FeatureInputError, match="avg_unit_price.*C0000003"):
        run_segmentation(features, SegmentationSettings.from_mapping(FAST))


def test_dbscan_all_noise_never_wins_and_alone_is_a_clear_error(planted) -> None:
    features, _ = planted
    noisy = {
        "dbscan": {"eps": 1e-9, "min_samples": [5]},
        "selection": {"silhouette_sample_size": 300},
        "kmeans": FAST["kmeans"],
    }
    tables = run_segmentation(
        features, SegmentationSettings.from_mapping({**noisy, "algorithms": ["kmeans", "dbscan"]})
    )
    dbscan = tables.candidates[tables.candidates["algorithm"] == "dbscan"].iloc[0]
    assert dbscan["status"] == "failed" and "noise" in dbscan["status_message"]
    assert not dbscan["is_winner"] and tables.model["algorithm"].iloc[0] == "kmeans"
    assert (tables.agreement["algorithm_b"] != "dbscan").all()
    with pytest.raises(SelectionError, match="labelled every sampled customer as noise"):
        run_segmentation(
            features, SegmentationSettings.from_mapping({**noisy, "algorithms": ["dbscan"]})
        )


def test_density_winner_flags_noise_and_still_assigns_everyone(planted) -> None:
    features, _ = planted
    settings = SegmentationSettings.from_mapping(
        {
            "algorithms": ["dbscan"],
            "dbscan": {"min_samples": [10], "fit_sample_size": 600},
            "selection": {"silhouette_sample_size": 500, "max_noise_share": 0.5},
        }
    )
    tables = run_segmentation(features, settings)
    assignments = tables.assignments
    assert len(assignments) == len(features) and assignments["segment_id"].min() >= 1
    methods = set(assignments["assignment_method"])
    assert "nearest_representative" in methods
    assert assignments["is_in_fit_sample"].sum() == 600
    noise = assignments["is_noise"]
    assert (assignments.loc[noise, "assignment_method"] == "noise_to_nearest_representative").all()
    assert not assignments.loc[~assignments["is_in_fit_sample"], "is_noise"].any()


@pytest.mark.parametrize("override", [{"scaler": "quantile"}, {"pca_components": 0.9}])
def test_not_sql_scorable_preparations_run_end_to_end(planted, override) -> None:
    features, groups = planted
    tables = run_segmentation(features, SegmentationSettings.from_mapping({**FAST, **override}))
    assert not bool(tables.model["is_sql_scorable"].iloc[0])
    assert tables.params["sql_expression"].isna().all()
    assert len(tables.assignments) == len(features)
    if "pca_components" in override:  # PCA keeping 90% of variance still separates the groups
        merged = tables.assignments.merge(features.assign(group=groups)[["customer_id", "group"]])
        assert adjusted_rand_score(merged["group"], merged["segment_id"]) >= 0.9
        assert tables.representatives["feature_name"].str.startswith("pca_").any()


def test_model_records_version_window_and_representatives(planted, result) -> None:
    features, _ = planted
    model = result.model.iloc[0]
    assert model["n_customers"] == len(features)
    assert model["training_first_order_at"] == features["first_order_at"].min()
    assert model["training_last_order_at"] == features["last_order_at"].max()
    assert "scikit-learn" in model["package_versions"]
    reps = result.representatives
    assert set(reps["segment_id"]) == set(range(1, int(model["n_segments"]) + 1))
    assert (reps["model_version_id"] == model["model_version_id"]).all()
    monetary = reps[reps["feature_name"] == "monetary_amount"].set_index("segment_id")
    assert monetary["member_median"].sort_index().is_monotonic_decreasing
    assert (result.assignments["model_version_id"] == model["model_version_id"]).all()


def test_runtime_environment_names_packages_and_thread_pools() -> None:
    from importlib import metadata

    from segmentation.engine.algorithms import FIT_THREADS
    from segmentation.engine.environment import PACKAGES, runtime_environment

    frame = runtime_environment()
    assert list(frame.columns) == ["component", "kind", "version", "detail"]
    packages = frame[frame["kind"] == "package"].set_index("component")["version"]
    assert set(packages.index) == set(PACKAGES)
    assert packages["scikit-learn"] == metadata.version("scikit-learn")
    assert (frame["kind"] == "python").sum() == 1
    pools = frame[frame["kind"] == "thread_pool"]
    # numpy's BLAS is loaded by the engine, so at least one pool is reported
    assert pools["component"].str.startswith("blas:").any()
    assert pools["detail"].str.endswith(f"{FIT_THREADS} used by fits").all()
    assert not frame.duplicated(["component", "kind", "detail"]).any()

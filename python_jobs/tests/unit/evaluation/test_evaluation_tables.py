"""The evaluation tables built from the kept model's tables, as the dbt models build them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import SYNTHETIC_FEATURES

from segmentation.benchmark import evaluation as bench_evaluation
from segmentation.benchmark.synthetic import synthetic_customer_features
from segmentation.config.evaluation import EvaluationSettings
from segmentation.config.segmentation import SegmentationSettings
from segmentation.engine.fit import run_segmentation
from segmentation.evaluation.metrics import EvaluationError
from segmentation.evaluation.tables import (
    NOT_AVAILABLE,
    _share_rule,
    assignment_rule,
    customer_evaluation,
    prediction_strength,
    run_evaluation,
    seed_agreement,
    segment_stability,
)
from segmentation.io.tables import SCHEMAS

# customers and seed of the module's planted groups (the planted fixture, conftest.py)
PLANTED = (600, 11)
# Every synthetic feature, and pure best-silhouette among the stable candidates: the planted
# four groups, not a stable split of one of them (the near-tie rule would prefer more segments).
FAST = {
    "features": SYNTHETIC_FEATURES,
    "algorithms": ["kmeans"],
    "kmeans": {"k_min": 2, "k_max": 6, "n_init": 3},
    "selection": {"silhouette_sample_size": 300, "granularity_tolerance": 0.0},
}
SMALL = {
    "bootstrap": {"resamples": 4},
    "prediction_strength": {"splits": 2, "sample_size": 400},
    "seed_agreement": {"seeds": [1, 2]},
}


@pytest.fixture(scope="module")
def kept(planted):
    return run_segmentation(planted[0], SegmentationSettings.from_mapping(FAST))


@pytest.fixture(scope="module")
def truth(planted) -> pd.DataFrame:
    features, groups = planted
    return pd.DataFrame({"customer_id": features["customer_id"], "archetype": groups.astype(str)})


@pytest.fixture(scope="module")
def evaluated(planted, kept, truth):
    return run_evaluation(
        planted[0],
        kept.params,
        kept.model,
        kept.representatives,
        kept.assignments,
        truth,
        EvaluationSettings.from_mapping(SMALL),
    )


def test_tables_have_their_columns_and_grain(planted, kept, evaluated) -> None:
    n_segments = int(kept.model["n_segments"].iloc[0])
    tables = {
        "ml_segment_stability": evaluated.stability,
        "ml_prediction_strength": evaluated.strength,
        "ml_seed_agreement": evaluated.seeds,
        "ml_customer_evaluation": evaluated.customers,
        "ml_segment_evaluation": evaluated.summary,
    }
    for name, table in tables.items():
        assert list(table.columns) == list(SCHEMAS[name]), name
    assert list(evaluated.stability["segment_id"]) == list(range(1, n_segments + 1))
    assert list(evaluated.strength["n_segments"]) == [2, 3, 4, 5, 6]
    assert evaluated.strength["is_model_k"].sum() == 1
    assert list(evaluated.seeds["seed"]) == [1, 2]
    assert sorted(evaluated.customers["customer_id"]) == sorted(planted[0]["customer_id"])
    assert len(evaluated.summary) == 1


def test_planted_groups_are_stable_strong_and_recovered(kept, evaluated) -> None:
    summary = evaluated.summary.iloc[0]
    assert int(summary["n_segments"]) == 4
    assert summary["mean_bootstrap_stability"] > 0.95
    assert summary["prediction_strength_at_model_k"] > 0.9
    assert summary["seed_agreement_mean_ari"] > 0.99
    assert summary["external_validation_status"] == "available"
    assert summary["external_adjusted_rand_index"] > 0.95
    assert summary["external_class_count"] == 4
    assert set(evaluated.stability["stability_class"]) == {"highly stable"}


def test_customer_figures_agree_with_the_kept_model(kept, evaluated) -> None:
    merged = evaluated.customers.merge(kept.assignments, on="customer_id", suffixes=("", "_kept"))
    assert (merged["segment_id"] == merged["segment_id_kept"]).all()
    np.testing.assert_allclose(
        merged["distance_to_representative"], merged["distance_to_representative_kept"]
    )
    # the mean over the selection's own sample is the model's silhouette
    summary = evaluated.summary.iloc[0]
    assert summary["silhouette"] == pytest.approx(float(kept.model["silhouette"].iloc[0]))
    assert summary["silhouette_sample_size"] == 300
    methods = evaluated.customers["silhouette_method"].value_counts()
    assert methods["sample"] == 300 and methods["estimate"] == 300
    second = evaluated.customers["second_segment_id"]
    assert (second != evaluated.customers["segment_id"]).all() and second.notna().all()


def test_real_data_has_no_external_validation(planted, kept) -> None:
    result = run_evaluation(
        planted[0],
        kept.params,
        kept.model,
        kept.representatives,
        kept.assignments,
        pd.DataFrame({"customer_id": [], "archetype": []}),
        EvaluationSettings.from_mapping(SMALL),
    )
    summary = result.summary.iloc[0]
    assert summary["external_validation_status"] == NOT_AVAILABLE
    assert summary["external_customer_count"] == 0
    assert pd.isna(summary["external_adjusted_rand_index"])


def test_row_order_does_not_change_the_tables(planted, kept, evaluated) -> None:
    settings = EvaluationSettings.from_mapping(SMALL)
    features = planted[0].sample(frac=1.0, random_state=5)
    assignments = kept.assignments.sample(frac=1.0, random_state=6)
    inputs = (features, kept.params, kept.model, assignments, settings)
    pd.testing.assert_frame_equal(segment_stability(*inputs), evaluated.stability)
    pd.testing.assert_frame_equal(seed_agreement(*inputs), evaluated.seeds)
    again = customer_evaluation(
        features, kept.params, kept.model, kept.representatives, assignments, settings
    )
    pd.testing.assert_frame_equal(again, evaluated.customers)


def test_another_seed_gives_other_resamples(planted, kept, evaluated) -> None:
    settings = EvaluationSettings.from_mapping({**SMALL, "random_state": 7})
    other = prediction_strength(planted[0], kept.params, kept.model, kept.assignments, settings)
    assert not np.allclose(
        other["mean_prediction_strength"], evaluated.strength["mean_prediction_strength"]
    )


def test_empty_input_gives_typed_empty_tables(planted, kept) -> None:
    settings = EvaluationSettings.from_mapping(SMALL)
    features = planted[0].iloc[:0]
    result = run_evaluation(
        features,
        kept.params,
        kept.model.iloc[:0],
        kept.representatives,
        kept.assignments.iloc[:0],
        settings=settings,
    )
    for table, name in [
        (result.stability, "ml_segment_stability"),
        (result.customers, "ml_customer_evaluation"),
        (result.summary, "ml_segment_evaluation"),
    ]:
        assert table.empty and list(table.columns) == list(SCHEMAS[name])
    assert str(result.summary["mean_bootstrap_stability"].dtype) == "float64"


def test_customers_without_exactly_one_segment_are_left_out(planted, kept) -> None:
    assignments = kept.assignments
    broken = pd.concat([assignments.iloc[1:], assignments.iloc[[5]]], ignore_index=True)
    result = run_evaluation(
        planted[0],
        kept.params,
        kept.model,
        kept.representatives,
        broken,
        settings=EvaluationSettings.from_mapping(SMALL),
    )
    left_out = {assignments["customer_id"].iloc[0], assignments["customer_id"].iloc[5]}
    assert left_out.isdisjoint(result.customers["customer_id"])
    assert int(result.summary["n_customers_evaluated"].iloc[0]) == len(assignments) - 2
    assert int(result.summary["n_customers"].iloc[0]) == len(assignments)


def test_sql_scored_assignments_are_compared_by_nearest_representative(planted, kept) -> None:
    scored = kept.assignments.assign(assignment_method="nearest_representative")
    assert assignment_rule(scored) == "nearest_representative"
    assert assignment_rule(kept.assignments) == "fitted"
    result = run_evaluation(
        planted[0],
        kept.params,
        kept.model,
        kept.representatives,
        scored,
        settings=EvaluationSettings.from_mapping(SMALL),
    )
    assert result.summary["assignment_rule"].iloc[0] == "nearest_representative"
    assert result.summary["mean_bootstrap_stability"].iloc[0] > 0.95


def test_a_density_winner_is_assessed_with_kmeans_for_k() -> None:
    features, _ = synthetic_customer_features(500, n_groups=3, random_state=2, spread=0.15)
    settings = SegmentationSettings.from_mapping(
        {
            "algorithms": ["hdbscan"],
            "hdbscan": {"min_cluster_size": [30]},
            "selection": {"objective": "separation", "silhouette_sample_size": 200},
        }
    )
    kept = run_segmentation(features, settings)
    assert kept.model["algorithm"].iloc[0] == "hdbscan"
    result = run_evaluation(
        features,
        kept.params,
        kept.model,
        kept.representatives,
        kept.assignments,
        settings=EvaluationSettings.from_mapping(SMALL),
    )
    assert set(result.strength["algorithm"]) == {"kmeans"}
    assert result.strength["is_model_k"].sum() == 1
    noise = result.summary["noise_share"].iloc[0]
    assert 0.0 <= noise <= 1.0
    assert noise >= float(kept.assignments["is_noise"].mean())


def test_missing_representatives_are_named(planted, kept) -> None:
    reps = kept.representatives[kept.representatives["segment_id"] != 2]
    with pytest.raises(EvaluationError, match=r"ml_segment_representatives lacks segments \[2\]"):
        customer_evaluation(
            planted[0],
            kept.params,
            kept.model,
            reps,
            kept.assignments,
            EvaluationSettings.from_mapping(SMALL),
        )


def test_a_model_not_in_its_own_candidates_is_refused(planted, kept) -> None:
    model = kept.model.assign(candidate_id="kmeans__n_clusters=99")
    with pytest.raises(EvaluationError, match="kmeans__n_clusters=99 is not among"):
        segment_stability(
            planted[0], kept.params, model, kept.assignments, EvaluationSettings.from_mapping(SMALL)
        )


def test_the_benchmark_runs_on_a_small_input(capsys) -> None:
    small = '{"bootstrap": {"resamples": 2}, "prediction_strength": {"splits": 1}}'
    args = ["--customers", "400", "--k", "3", "--evaluation", small, "--json"]
    assert bench_evaluation.main(args) == 0
    output = capsys.readouterr().out
    figures = json.loads(output[output.index("{") :])
    assert figures["customers"] == 400 and figures["model"] == "kmeans__n_clusters=3"
    assert set(figures["stage_seconds"]) == {
        "stability",
        "prediction_strength",
        "seed_agreement",
        "customers",
        "summary",
    }
    assert figures["settings"]["bootstrap"]["resamples"] == 2


def test_kept_segment_ids_need_not_be_one_to_k(planted, kept, truth, evaluated) -> None:
    # after a retrain the registry keeps matched ids and gives new segments fresh ones
    renumber = {1: 3, 2: 7, 3: 8, 4: 12}
    assignments = kept.assignments.assign(segment_id=kept.assignments["segment_id"].map(renumber))
    representatives = kept.representatives.assign(
        segment_id=kept.representatives["segment_id"].map(renumber)
    )
    result = run_evaluation(
        planted[0],
        kept.params,
        kept.model,
        representatives,
        assignments,
        truth,
        EvaluationSettings.from_mapping(SMALL),
    )
    assert list(result.stability["segment_id"]) == [3, 7, 8, 12]
    np.testing.assert_allclose(
        result.stability["mean_jaccard"], evaluated.stability["mean_jaccard"]
    )
    customers = result.customers.set_index("customer_id")
    before = evaluated.customers.set_index("customer_id").loc[customers.index]
    assert (customers["segment_id"] == before["segment_id"].map(renumber)).all()
    assert (customers["second_segment_id"] == before["second_segment_id"].map(renumber)).all()
    np.testing.assert_allclose(customers["silhouette"], before["silhouette"])


REFITS = (
    (segment_stability, "stability"),
    (prediction_strength, "strength"),
    (seed_agreement, "seeds"),
)


@pytest.mark.parametrize(("build", "attribute"), REFITS)
def test_refits_are_kept_while_version_and_settings_stay(
    planted, kept, evaluated, build, attribute
) -> None:
    settings = EvaluationSettings.from_mapping(SMALL)
    before = getattr(evaluated, attribute)
    assert before["evaluation_key"].nunique() == 1
    # new data under the same kept model (a daily build): the stored rows come back unchanged,
    # even though refitting on this input would measure something else
    newer = planted[0].assign(monetary_amount=planted[0]["monetary_amount"] * 3.0)
    inputs = (newer, kept.params, kept.model, kept.assignments, settings)
    pd.testing.assert_frame_equal(build(*inputs, previous=before), before)
    # another model version, or other evaluation settings, measure again
    retrained = kept.model.assign(model_version_id="v0002-retrained")
    again = build(planted[0], kept.params, retrained, kept.assignments, settings, previous=before)
    assert set(again["model_version_id"]) == {"v0002-retrained"}
    assert set(again["evaluation_key"]).isdisjoint(before["evaluation_key"])
    other = EvaluationSettings.from_mapping({**SMALL, "random_state": 3})
    remeasured = build(
        planted[0], kept.params, kept.model, kept.assignments, other, previous=before
    )
    assert set(remeasured["evaluation_key"]).isdisjoint(before["evaluation_key"])


@pytest.mark.parametrize(("build", "attribute"), REFITS)
def test_a_table_of_mixed_or_older_rows_is_measured_again(
    planted, kept, evaluated, build, attribute
) -> None:
    settings = EvaluationSettings.from_mapping(SMALL)
    before = getattr(evaluated, attribute)
    inputs = (planted[0], kept.params, kept.model, kept.assignments, settings)
    mixed = before.copy()
    mixed.loc[0, "evaluation_key"] = "another-key"
    older = before.drop(columns=["evaluation_key"])
    for previous in (mixed, older, before.iloc[:0]):
        remeasured = build(*inputs, previous=previous)
        pd.testing.assert_frame_equal(remeasured, before)


def test_the_share_rule_spares_a_small_valuable_segment_and_reads_the_others() -> None:
    # 100 customers: segment 7 holds 2 % and half the revenue (valuable: >= 1 %, >= 3x its
    # share), segment 5 holds 2 % with a 2 % revenue share (small, not valuable)
    ids = [str(i) for i in range(100)]
    segment = [7, 7, 5, 5] + [1] * 60 + [2] * 36
    money = [480.0, 480.0, 20.0, 20.0] + [10.0] * 96
    assignments = pd.DataFrame({"customer_id": ids, "segment_id": segment})
    features = pd.DataFrame({"customer_id": ids, "monetary_amount": money})
    rule = _share_rule(assignments, features, SegmentationSettings.from_mapping({}))
    assert rule == {"valuable_segment_count": 1, "smallest_regular_segment_share": 0.02}
    # without segment 5 the smallest regular segment is segment 2
    kept = assignments["segment_id"] != 5
    rule = _share_rule(assignments[kept], features, SegmentationSettings.from_mapping({}))
    assert rule["valuable_segment_count"] == 1
    assert rule["smallest_regular_segment_share"] == pytest.approx(36 / 98)

"""Feature preparation: transforms, exclusions with reasons, SQL-scorable parameters, bad input."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from segmentation.benchmark.synthetic import synthetic_customer_features
from segmentation.config.segmentation import SegmentationSettings
from segmentation.engine.prepare import FeatureInputError, FeaturePreparer


def prep_settings(**override):
    return SegmentationSettings.from_mapping(override).preparation


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    frame, _ = synthetic_customer_features(800, n_groups=4, random_state=11)
    return frame


def test_sql_expressions_reproduce_the_python_transform(features) -> None:
    preparer = FeaturePreparer(prep_settings()).fit(features)
    expected = preparer.transform(features)
    used = preparer.params_[preparer.params_["is_used"]]
    select = ", ".join(f"{expr} as f{i}" for i, expr in enumerate(used["sql_expression"]))
    con = duckdb.connect()
    con.register("fct_customer_features", features)
    scored = con.sql(
        f"select {select} from fct_customer_features order by customer_id"
    ).fetchnumpy()
    got = np.column_stack([scored[f"f{i}"] for i in range(len(used))])
    order = np.argsort(features["customer_id"].to_numpy())
    np.testing.assert_allclose(got, expected[order], rtol=1e-9, atol=1e-9)


def test_standard_scaling_centres_and_scales_each_used_feature(features) -> None:
    matrix = FeaturePreparer(prep_settings()).fit_transform(features)
    np.testing.assert_allclose(matrix.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(matrix.std(axis=0), 1.0, atol=1e-9)


def test_clip_bounds_are_the_configured_quantiles_and_outliers_are_flagged(features) -> None:
    preparer = FeaturePreparer(prep_settings(clip_quantiles=[0.05, 0.95])).fit(features)
    row = preparer.params_.set_index("feature_name").loc["monetary_amount"]
    assert row["clip_lower"] == pytest.approx(features["monetary_amount"].quantile(0.05))
    assert row["clip_upper"] == pytest.approx(features["monetary_amount"].quantile(0.95))
    assert row["clipped_high_count"] == int((features["monetary_amount"] > row["clip_upper"]).sum())
    counts = preparer.outlier_counts(features)
    assert len(counts) == len(features)  # nobody is dropped
    above = features["monetary_amount"].to_numpy() > row["clip_upper"]
    assert (counts[above] >= 1).all()


def test_missing_gap_is_imputed_with_recency_days(features) -> None:
    preparer = FeaturePreparer(prep_settings(clip_quantiles=None, scaler="robust")).fit(features)
    row = preparer.params_.set_index("feature_name").loc["mean_days_between_orders"]
    single = features["frequency_orders"] == 1
    assert row["imputation_rule"] == "column" and row["imputation_column"] == "recency_days"
    assert row["missing_count"] == int(single.sum()) > 0
    column = preparer.used_features_.index("mean_days_between_orders")
    prepared = preparer.transform(features)[:, column]
    expected = (np.log1p(features.loc[single, "recency_days"]) - row["centre"]) / row["scale"]
    np.testing.assert_allclose(prepared[single.to_numpy()], expected)


def test_median_imputation_is_stored_as_a_constant(features) -> None:
    preparer = FeaturePreparer(
        prep_settings(imputation={"mean_days_between_orders": "median"})
    ).fit(features)
    row = preparer.params_.set_index("feature_name").loc["mean_days_between_orders"]
    assert row["imputation_rule"] == "constant"
    assert row["imputation_value"] == pytest.approx(features["mean_days_between_orders"].median())


def test_zero_variance_feature_is_left_out_with_reason(features) -> None:
    frame = features.assign(country_count=1)
    preparer = FeaturePreparer(prep_settings(features=["monetary_amount", "country_count"]))
    preparer.fit(frame)
    row = preparer.params_.set_index("feature_name").loc["country_count"]
    assert not row["is_used"] and "zero variance" in row["exclusion_reason"]
    assert preparer.used_features_ == ("monetary_amount",)


def test_correlated_feature_is_left_out_naming_the_kept_one(features) -> None:
    frame = features.assign(tenure_days=features["recency_days"] * 2 + 1)
    preparer = FeaturePreparer(
        prep_settings(
            features=["recency_days", "tenure_days", "monetary_amount"],
            log1p_features=["monetary_amount"],
            clip_quantiles=None,
        )
    ).fit(frame)
    row = preparer.params_.set_index("feature_name").loc["tenure_days"]
    assert not row["is_used"]
    assert "correlated with recency_days" in row["exclusion_reason"]


def test_all_features_constant_is_a_clear_error(features) -> None:
    frame = features.assign(country_count=1, cancellation_rate=0.0)
    preparer = FeaturePreparer(prep_settings(features=["country_count", "cancellation_rate"]))
    with pytest.raises(FeatureInputError, match="no feature is left"):
        preparer.fit(frame)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_values_name_column_and_customer(features, bad) -> None:
    frame = features.copy()
    frame.loc[5, "monetary_amount"] = bad
    customer = frame.loc[5, "customer_id"]
    with pytest.raises(FeatureInputError, match=f"monetary_amount.*{customer}"):
        FeaturePreparer(prep_settings()).fit(frame)


def test_duplicate_and_missing_columns_are_named(features) -> None:
    doubled = pd.concat([features, features.iloc[:1]])
    with pytest.raises(FeatureInputError, match="duplicate customer_id"):
        FeaturePreparer(prep_settings()).fit(doubled)
    with pytest.raises(FeatureInputError, match="avg_order_value"):
        FeaturePreparer(prep_settings()).fit(features.drop(columns="avg_order_value"))


def test_log1p_of_values_below_minus_one_is_refused(features) -> None:
    frame = features.assign(weekend_order_share=-2.0 + features["weekend_order_share"])
    settings = prep_settings(
        features=["weekend_order_share", "monetary_amount"],
        log1p_features=["weekend_order_share"],
        clip_quantiles=None,
    )
    with pytest.raises(FeatureInputError, match="weekend_order_share.*ln"):
        FeaturePreparer(settings).fit(frame)


def test_stored_parameters_rebuild_the_same_transform_on_new_data(features) -> None:
    settings = prep_settings(scaler="robust")
    fitted = FeaturePreparer(settings).fit(features)
    rebuilt = FeaturePreparer.from_params(fitted.params_, settings)
    new, _ = synthetic_customer_features(200, n_groups=3, random_state=99)
    np.testing.assert_allclose(rebuilt.transform(new), fitted.transform(new))
    np.testing.assert_array_equal(rebuilt.outlier_counts(new), fitted.outlier_counts(new))


def test_robust_scaler_falls_back_to_std_when_iqr_is_zero(features) -> None:
    frame = features.copy()
    frame["cancellation_rate"] = 0.0
    frame.loc[frame.index[:50], "cancellation_rate"] = 0.5  # IQR 0, variance > 0
    settings = prep_settings(
        features=["cancellation_rate", "monetary_amount"], scaler="robust", clip_quantiles=None
    )
    row = FeaturePreparer(settings).fit(frame).params_.set_index("feature_name")
    assert row.loc["cancellation_rate", "scale"] == pytest.approx(
        frame["cancellation_rate"].std(ddof=0)
    )


def test_quantile_scaler_and_pca_are_marked_not_sql_scorable(features) -> None:
    for override in ({"scaler": "quantile"}, {"pca_components": 3}):
        preparer = FeaturePreparer(prep_settings(**override), random_state=0).fit(features)
        assert not preparer.params_["is_sql_scorable"].any()
        assert preparer.params_["sql_expression"].isna().all()
        matrix = preparer.transform(features)
        assert np.isfinite(matrix).all()
        if "pca_components" in override:
            assert matrix.shape[1] == 3 and preparer.feature_names_out_[0] == "pca_1"
        with pytest.raises(ValueError, match="cannot be rebuilt"):
            FeaturePreparer.from_params(preparer.params_, prep_settings(**override))


def test_inverse_transform_maps_prepared_points_back_to_original_units(features) -> None:
    preparer = FeaturePreparer(prep_settings(clip_quantiles=None)).fit(features)
    matrix = preparer.transform(features.iloc[:20])
    back = preparer.inverse_transform(matrix)
    column = preparer.used_features_.index("monetary_amount")
    np.testing.assert_allclose(back[:, column], features["monetary_amount"].iloc[:20], rtol=1e-9)


def test_feature_null_for_everyone_is_left_out_with_its_reason(features) -> None:
    # a log without stock codes: fct_customer_features has distinct_products NULL everywhere
    frame = features.assign(distinct_products=np.nan)
    preparer = FeaturePreparer(prep_settings()).fit(frame)
    row = preparer.params_.set_index("feature_name").loc["distinct_products"]
    assert not row["is_used"]
    assert "NULL for every customer" in row["exclusion_reason"]
    assert "distinct_products" not in preparer.used_features_
    assert preparer.transform(frame).shape == (len(frame), len(preparer.used_features_))


def _with_household(features: pd.DataFrame) -> pd.DataFrame:
    """``features`` with the 0/1 columns of a three-category attribute; every fourth customer
    has no value (0 in every column)."""
    frame = features.copy()
    category = np.array(["couple", "family", "single", None], dtype=object)[
        np.arange(len(frame)) % 4
    ]
    for name in ("couple", "family", "single"):
        frame[f"attribute_household__{name}"] = (category == name).astype(float)
    return frame


def test_attribute_categories_are_weighted_inputs_and_missing_sits_half_way(features) -> None:
    frame = _with_household(features)
    weight = 1.5
    settings = prep_settings(categorical_attributes={"household": weight})
    preparer = FeaturePreparer(settings).fit(frame)
    names = [f"attribute_household__{n}" for n in ("couple", "family", "single")]
    assert list(preparer.used_features_[-3:]) == names
    matrix = preparer.transform(frame)[:, -3:]
    couple, family, _, unknown = matrix[0], matrix[1], matrix[2], matrix[3]
    # two categories are `weight` apart; a customer without the attribute is half-way
    assert np.linalg.norm(couple - family) == pytest.approx(weight)
    assert np.linalg.norm(unknown - couple) == pytest.approx(weight / np.sqrt(2))
    assert np.linalg.norm(unknown - family) == pytest.approx(weight / np.sqrt(2))
    # the numeric features are prepared as without the attribute
    plain = FeaturePreparer(prep_settings()).fit(features).transform(features)
    np.testing.assert_allclose(preparer.transform(frame)[:, :-3], plain, rtol=1e-12)
    # the stored SQL expressions give the same values (the kept model scores in SQL)
    used = preparer.params_[preparer.params_["is_used"]]
    select = ", ".join(f"{expr} as f{i}" for i, expr in enumerate(used["sql_expression"]))
    con = duckdb.connect()
    con.register("fct_customer_features", frame)
    scored = con.sql(f"select {select} from fct_customer_features").fetchnumpy()
    got = np.column_stack([scored[f"f{i}"] for i in range(len(used))])
    np.testing.assert_allclose(got, preparer.transform(frame), rtol=1e-9, atol=1e-9)
    # and the stored parameters rebuild the same transform
    rebuilt = FeaturePreparer.from_params(preparer.params_, settings)
    np.testing.assert_allclose(rebuilt.transform(frame), preparer.transform(frame))


def test_attribute_no_customer_has_is_left_out_and_a_gone_category_is_named(features) -> None:
    settings = prep_settings(categorical_attributes={"household": 1.0, "region": 1.0})
    frame = _with_household(features)
    preparer = FeaturePreparer(settings).fit(frame)
    params = preparer.params_.set_index("feature_name")
    assert not params.loc["attribute_region", "is_used"]
    reason = params.loc["attribute_region", "exclusion_reason"]
    assert "no customer has the attribute region" in reason
    with pytest.raises(FeatureInputError, match="attribute_household__single"):
        preparer.transform(frame.drop(columns="attribute_household__single"))
    with pytest.raises(FeatureInputError, match="standard or robust scaler"):
        FeaturePreparer(
            prep_settings(categorical_attributes={"household": 1.0}, scaler="quantile")
        ).fit(frame)
    broken = frame.copy()
    broken.loc[broken.index[:2], "attribute_household__couple"] = np.nan
    with pytest.raises(FeatureInputError, match="attribute_household__couple has 2 NULL"):
        FeaturePreparer(settings).fit(broken)

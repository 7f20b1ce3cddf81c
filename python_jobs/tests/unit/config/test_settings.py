"""Settings of the clustering engine: defaults, overrides and errors that name the key."""

from __future__ import annotations

import pytest
import yaml
from helpers import REPO_ROOT

from segmentation.config.segmentation import (
    DEFAULTS,
    SegmentationSettings,
    SettingsError,
    indicator_prefix,
)


def test_dbt_project_var_mirrors_package_defaults() -> None:
    project = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text())
    assert project["vars"]["segmentation"] == DEFAULTS


def test_defaults_parse_into_typed_settings() -> None:
    settings = SegmentationSettings.from_mapping(None)
    assert settings.kmeans.k_min == 2 and settings.kmeans.k_max == 10
    assert settings.preparation.imputation_for("mean_days_between_orders") == "recency_days"
    assert settings.preparation.clip_quantiles == (0.01, 0.99)
    assert settings.agglomerative.linkages == ("ward", "average")


def test_partial_override_keeps_other_defaults() -> None:
    settings = SegmentationSettings.from_mapping({"kmeans": {"k_max": 4}, "scaler": "robust"})
    assert settings.kmeans.k_max == 4
    assert settings.kmeans.n_init == DEFAULTS["kmeans"]["n_init"]
    assert settings.preparation.scaler == "robust"
    assert settings.selection.min_segment_share == DEFAULTS["selection"]["min_segment_share"]


def test_json_text_is_accepted() -> None:
    settings = SegmentationSettings.from_mapping('{"random_state": 7}')
    assert settings.random_state == 7


def test_effective_settings_json_is_canonical() -> None:
    one = SegmentationSettings.from_mapping({"kmeans": {"k_max": 4}})
    two = SegmentationSettings.from_mapping({"kmeans": {"k_max": 4, "k_min": 2}})
    assert one.to_json() == two.to_json()
    assert one.to_json() != SegmentationSettings.from_mapping(None).to_json()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"kmeans": {"kmax": 4}}, r"segmentation\.kmeans\.kmax"),
        ({"colour": "red"}, r"unknown setting segmentation\.colour"),
        ({"kmeans": {"k_min": 5, "k_max": 3}}, "exceeds k_max"),
        ({"scaler": "minmax"}, r"segmentation\.scaler"),
        ({"features": ["monetary_amount", "shoe_size"]}, "shoe_size"),
        ({"features": []}, "empty"),
        ({"clip_quantiles": [0.9, 0.1]}, "clip_quantiles"),
        ({"imputation": {"recency_days": "mode"}}, r"imputation\.recency_days"),
        ({"selection": {"min_segment_share": 0.9}}, "min_segment_share"),
        ({"kmeans": 4}, "must be a mapping"),
        ({"random_state": True}, "random_state"),
        ({"pca_components": 1.5}, "pca_components"),
        ({"dbscan": {"eps": 0}}, r"dbscan\.eps"),
    ],
)
def test_bad_settings_name_the_key(override: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        SegmentationSettings.from_mapping(override)


def test_non_mapping_var_is_rejected() -> None:
    with pytest.raises(SettingsError, match="mapping"):
        SegmentationSettings.from_mapping(["kmeans"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["household"], "must be a mapping"),
        ({"House Hold": 1.0}, "lower-case letters"),
        ({"household": 0}, "above 0"),
        ({"household": 11}, "at most 10"),
        ({"household": True}, "above 0"),
        ({"h" * 41: 1.0}, "at most 40 characters"),
    ],
)
def test_categorical_attributes_are_checked(value, message) -> None:
    with pytest.raises(SettingsError, match=message):
        SegmentationSettings.from_mapping({"categorical_attributes": value})


def test_the_longest_attribute_name_leaves_its_column_prefix_whole() -> None:
    longest = "h" * 40
    settings = SegmentationSettings.from_mapping({"categorical_attributes": {longest: 1.0}})
    assert settings.preparation.categorical_attributes == ((longest, 1.0),)
    # attribute_indicator_columns cuts names at 57 characters before adding "_<n>" to a
    # repeated one: the prefix and at least one character of the category stay
    assert len(indicator_prefix(longest)) < 57


def test_categorical_attributes_replace_their_default_whole() -> None:
    settings = SegmentationSettings.from_mapping({"categorical_attributes": {"kids": 2, "age": 1}})
    assert settings.preparation.categorical_attributes == (("age", 1.0), ("kids", 2.0))
    assert SegmentationSettings.from_mapping({}).preparation.categorical_attributes == ()

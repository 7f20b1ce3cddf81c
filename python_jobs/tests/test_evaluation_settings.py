"""The `evaluation` and `quality_gate_*` vars: defaults as in dbt_project.yml, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from segmentation.config.evaluation import (
    DEFAULTS,
    EvaluationSettings,
    EvaluationSettingsError,
)
from segmentation.config.varcheck import check_vars, project_vars

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_defaults_mirror_the_dbt_var() -> None:
    project = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text())
    assert project["vars"]["evaluation"] == DEFAULTS


def test_a_partial_override_keeps_the_other_defaults() -> None:
    settings = EvaluationSettings.from_mapping({"bootstrap": {"resamples": 50}})
    assert settings.bootstrap.resamples == 50
    assert settings.bootstrap.sample_size == DEFAULTS["bootstrap"]["sample_size"]
    assert settings.seed_agreement.seeds == tuple(DEFAULTS["seed_agreement"]["seeds"])
    assert settings.random_state is None
    assert EvaluationSettings.from_mapping('{"random_state": 3}').random_state == 3


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"bootstrp": {}}, "unknown setting evaluation.bootstrp"),
        ({"bootstrap": {"resamples": 1}}, "evaluation.bootstrap.resamples must be an integer >= 2"),
        ({"bootstrap": 5}, "evaluation.bootstrap must be a mapping"),
        ({"prediction_strength": {"threshold": 1.5}}, "threshold must be a number from 0 to 1"),
        ({"seed_agreement": {"seeds": []}}, "seeds must be a non-empty list"),
        ({"seed_agreement": {"seeds": [1, 1]}}, "seeds lists an entry twice"),
        ({"customer_fit": {"silhouette_sample_size": 2}}, "must be null or an integer >= 10"),
        ({"random_state": -1}, "evaluation.random_state must be null or an integer >= 0"),
    ],
)
def test_bad_settings_name_the_key(values, message) -> None:
    with pytest.raises(EvaluationSettingsError, match=message):
        EvaluationSettings.from_mapping(values)


def test_the_gate_vars_are_checked() -> None:
    defaults = project_vars(REPO_ROOT)
    assert check_vars(defaults, {}).ok
    gates = [name for name in defaults if name.startswith("quality_gate_")]
    assert len(gates) == 7
    report = check_vars(
        defaults,
        {
            "quality_gate_severity": "fatal",
            "quality_gate_min_silhouette": "high",
            "quality_gate_min_stability": 1.5,
            "evaluation": {"bootstrap": {"resamples": 0}},
        },
    )
    text = "\n".join(report.errors)
    assert "quality_gate_severity must be one of error, warn" in text
    assert "quality_gate_min_silhouette must be a number" in text
    assert "quality_gate_min_stability must be a number from 0.0 to 1.0" in text
    assert "var evaluation: evaluation.bootstrap.resamples" in text
    assert len(report.errors) == 4

"""dbt var validation: clear messages before any model runs, no SQL through var values."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from pathlib import Path

import pytest
from helpers import REPO_ROOT

from segmentation.cli import checks
from segmentation.config import varcheck
from segmentation.config.segmentation import SegmentationSettings, SettingsError
from segmentation.errors import JobError

INJECTION = "2011-01-01'; drop table marts.dim_segments; --"


def check(override: dict) -> varcheck.VarReport:
    return varcheck.check_vars(varcheck.project_vars(REPO_ROOT), override)


def test_project_defaults_are_valid_and_every_var_has_a_rule() -> None:
    report = check({})
    assert report.ok, report.errors
    assert set(varcheck.RULES) >= {"as_of_date", "evening_start_hour", "rfm_score_bins"}
    # A var added to dbt_project.yml needs a rule here (else it is checked as plain text only).
    assert report.unruled == ()


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"as_of_date": INJECTION}, "as_of_date must be a date written YYYY-MM-DD"),
        ({"as_of_date": "2011-02-30"}, "as_of_date is not a real date"),
        ({"as_of_date": "11/06/2011"}, "as_of_date must be a date written YYYY-MM-DD"),
        ({"as_of_date": "1899-12-31"}, "as_of_date must lie between"),
        ({"as_of_date": dt.datetime(2011, 6, 1, 12)}, "without a time"),
        ({"evening_start_hour": 24}, "evening_start_hour must be a whole number from 0 to 23"),
        ({"evening_start_hour": "18; drop table x"}, "evening_start_hour must be a whole number"),
        ({"evening_start_hour": True}, "evening_start_hour must be a whole number"),
        ({"rfm_score_bins": 1}, "rfm_score_bins must be a whole number from 2 to 9"),
        ({"rfm_score_bins": 10.5}, "rfm_score_bins must be a whole number from 2 to 9"),
        ({"segmentation": {"algorithms": ["kmeans", "spectral"]}}, "unknown entries ['spectral']"),
        ({"segmentation": {"kmeans": {"k_min": 6, "k_max": 3}}}, "k_min (6) exceeds k_max (3)"),
        ({"segmentation": {"features": ["recency_days'; drop table x; --"]}}, "unknown entries"),
        ({"as_of_dat": "2011-06-01"}, "unknown var 'as_of_dat'"),
    ],
)
def test_bad_values_give_one_message_naming_the_var(override: dict, needle: str) -> None:
    report = check(override)
    assert not report.ok
    assert len(report.errors) == 1
    assert needle in report.errors[0]


@pytest.mark.parametrize(
    "override",
    [
        {"as_of_date": "2011-06-01"},
        {"as_of_date": dt.date(2011, 6, 1)},  # YAML reads an unquoted date as a date
        {"as_of_date": ""},
        {"evening_start_hour": 0},
        {"rfm_score_bins": "4"},  # dbt's `| int` takes quoted digits too
        {"segmentation": {"algorithms": ["kmeans"], "kmeans": {"k_max": 6}}},
    ],
)
def test_good_values_pass(override: dict) -> None:
    assert check(override).ok


def test_every_bad_var_is_reported_at_once() -> None:
    report = check({"as_of_date": "yesterday", "rfm_score_bins": 0, "unknown_var": 1})
    assert len(report.errors) == 3
    assert {e.split()[0] for e in report.errors} == {"var", "unknown"}


def test_segmentation_var_messages_come_from_settings_validation() -> None:
    bad = {"scaler": "minmax"}
    with pytest.raises(SettingsError) as settings_error:
        SegmentationSettings.from_mapping(bad)
    report = check({"segmentation": bad})
    assert report.errors == (f"var segmentation: {settings_error.value}",)


def test_override_replaces_a_default_whole_like_dbt() -> None:
    report = check({"segmentation": {"kmeans": {"k_max": 5}}})
    assert report.values["segmentation"] == {"kmeans": {"k_max": 5}}
    assert report.values["rfm_score_bins"] == 5


def test_vars_without_a_rule_are_checked_as_plain_text() -> None:
    defaults = {"drift_label": "monthly run", "nested": {"names": ["a", "b-c"]}}
    assert varcheck.check_vars(defaults, {}, rules={}).ok
    report = varcheck.check_vars(defaults, {"nested": {"names": ["ok", "x'); drop table y; --"]}})
    assert report.unruled == ("drift_label", "nested")
    assert len(report.errors) == 1
    assert "var nested.names[1] may hold only" in report.errors[0]
    assert not varcheck.check_vars({"label": "a -- comment"}, {}, rules={}).ok


def test_override_text_parsing() -> None:
    assert varcheck.parse_override("{as_of_date: 2011-06-01}") == {
        "as_of_date": dt.date(2011, 6, 1)
    }
    assert varcheck.parse_override('{"rfm_score_bins": 4}') == {"rfm_score_bins": 4}
    assert varcheck.parse_override("") == {}
    with pytest.raises(varcheck.VarError, match="must be a mapping"):
        varcheck.parse_override("[1, 2]")
    with pytest.raises(varcheck.VarError, match="not valid YAML"):
        varcheck.parse_override("{as_of_date: [")


def test_project_scoped_vars_are_read(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text(
        "name: shop\nvars:\n  top: 1\n  shop:\n    scoped: 2\n"
    )
    assert varcheck.project_vars(tmp_path) == {"top": 1, "scoped": 2}
    with pytest.raises(varcheck.VarError, match="no dbt_project.yml"):
        varcheck.project_vars(tmp_path / "missing")


def test_paths_are_confined_to_the_configured_folders(tmp_path: Path) -> None:
    allowed = tmp_path / "exports"
    allowed.mkdir()
    (tmp_path / "secret").mkdir()
    (allowed / "escape").symlink_to(tmp_path / "secret")
    roots = (Path("exports"),)
    assert varcheck.confined_path("exports/a.csv", roots, tmp_path) == allowed / "a.csv"
    assert varcheck.confined_path(str(allowed / "b" / "c.csv"), roots, tmp_path).parent.name == "b"
    for bad in ("exports/../secret/x.csv", "/etc/passwd", "exports/escape/x.csv", ""):
        with pytest.raises(ValueError):
            varcheck.confined_path(bad, roots, tmp_path)
    with pytest.raises(ValueError, match="may hold only"):
        varcheck.confined_path("exports/x'; drop table y; --.csv", roots, tmp_path)

    rule = varcheck.path_in_allowed_dirs(tmp_path, environ={varcheck.ALLOWED_DIRS_ENV: "exports"})
    rule("export_path", "exports/ok.parquet")
    rule("export_path", "")
    with pytest.raises(varcheck.VarError, match="var export_path .* outside the allowed folders"):
        rule("export_path", "secret/x.parquet")
    assert varcheck.allowed_dirs({}) == (Path("warehouse"),)
    both = {varcheck.ALLOWED_DIRS_ENV: f"a{os.pathsep}b"}
    assert varcheck.allowed_dirs(both) == (Path("a"), Path("b"))


def test_check_vars_job(capsys: pytest.CaptureFixture) -> None:
    ok = argparse.Namespace(vars="{as_of_date: 2011-06-01}", project_dir=REPO_ROOT)
    assert checks.run_vars(ok) == 0
    assert "dbt vars OK" in capsys.readouterr().out
    bad = argparse.Namespace(
        vars=f'{{as_of_date: "{INJECTION}", rfm_score_bins: 12}}', project_dir=REPO_ROOT
    )
    with pytest.raises(JobError) as raised:
        checks.run_vars(bad)
    message = str(raised.value)
    assert message.startswith("2 dbt vars are not valid")
    assert "as_of_date" in message and "rfm_score_bins" in message

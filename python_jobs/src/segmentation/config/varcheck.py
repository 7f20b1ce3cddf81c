"""Validate the dbt vars a user sets before any model runs.

The effective vars are the defaults under ``vars:`` in ``dbt_project.yml`` with the ``--vars``
override on top (as dbt does: a var named in the override replaces its default whole). Every
var has a rule in :data:`RULES`; a bad value gives one message naming the var, what is allowed
and what was given. The ``segmentation`` var is checked by
:meth:`segmentation.config.segmentation.SegmentationSettings.from_mapping`, the same code the
dbt Python models run. A var without a rule (added to ``dbt_project.yml`` before its rule) is
checked as plain text only: letters, digits and ``_ . : / @ + -`` and spaces, so that no quote,
semicolon or comment marker can reach SQL through it.

The SQL side checks again where the vars are used (``macros/dates.sql`` for ``as_of_date``,
``fct_customer_rfm.sql`` for ``rfm_score_bins``), so a direct ``dbt build`` is safe too; this
module gives all the messages at once, before dbt starts.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from segmentation.config.evaluation import EvaluationSettings, EvaluationSettingsError
from segmentation.config.retraining import PolicyError, RetrainingPolicy
from segmentation.config.segmentation import SegmentationSettings, SettingsError

PROJECT_FILE = "dbt_project.yml"
# Where file-path vars may point: folders separated by os.pathsep (relative to the project).
ALLOWED_DIRS_ENV = "SEGMENTS_ALLOWED_DIRS"
DEFAULT_ALLOWED_DIRS = ("warehouse",)

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9_.:/@+\- ]*")
EARLIEST_DATE = dt.date(1970, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)


class VarError(ValueError):
    """A dbt var has a value its rule refuses (the message names the var)."""


Rule = Callable[[str, Any], None]


# --------------------------------------------------------------------------------------------
# Rules: each raises VarError with a message that names the var
# --------------------------------------------------------------------------------------------


def optional_date(name: str, value: Any) -> None:
    """Empty, or a real calendar date written YYYY-MM-DD between 1970 and 2100."""
    if value is None or value == "":
        return
    if isinstance(value, dt.datetime):
        raise VarError(f"var {name} must be a date YYYY-MM-DD without a time, got {value!r}")
    if isinstance(value, dt.date):  # YAML reads an unquoted 2011-06-01 as a date
        day = value
    else:
        text = str(value).strip()
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(text):
            raise VarError(
                f"var {name} must be a date written YYYY-MM-DD (or empty), got {value!r}"
            )
        try:
            day = dt.date.fromisoformat(text)
        except ValueError as error:
            raise VarError(f"var {name} is not a real date: {value!r} ({error})") from error
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise VarError(
            f"var {name} must lie between {EARLIEST_DATE} and {LATEST_DATE}, got {day.isoformat()}"
        )


def integer_between(low: int, high: int) -> Rule:
    """A whole number in [low, high]; digits in quotes are accepted, as dbt's ``| int`` does."""

    def check(name: str, value: Any) -> None:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
            number = int(value)
        if number is None or not low <= number <= high:
            raise VarError(f"var {name} must be a whole number from {low} to {high}, got {value!r}")

    return check


def number_between(low: float, high: float) -> Rule:
    """A number in [low, high] (for thresholds and shares)."""

    def check(name: str, value: Any) -> None:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not low <= value <= high:
            raise VarError(f"var {name} must be a number from {low} to {high}, got {value!r}")

    return check


def one_of(*allowed: str) -> Rule:
    """One name out of ``allowed``."""

    def check(name: str, value: Any) -> None:
        if value not in allowed:
            raise VarError(f"var {name} must be one of {', '.join(allowed)}; got {value!r}")

    return check


def segmentation_settings(name: str, value: Any) -> None:
    """The clustering settings, validated by the code the dbt Python models use."""
    try:
        SegmentationSettings.from_mapping(value)
    except SettingsError as error:
        raise VarError(f"var {name}: {error}") from error


def evaluation_settings(name: str, value: Any) -> None:
    """The evaluation settings, validated by the code the evaluation models use."""
    try:
        EvaluationSettings.from_mapping(value)
    except EvaluationSettingsError as error:
        raise VarError(f"var {name}: {error}") from error


def boolean(name: str, value: Any) -> None:
    """true or false (as YAML writes them)."""
    if not isinstance(value, bool):
        raise VarError(f"var {name} must be true or false, got {value!r}")


def retraining_policy(name: str, value: Any) -> None:
    """The retraining policy, validated by the code the registry model uses."""
    try:
        RetrainingPolicy.from_mapping(value)
    except PolicyError as error:
        raise VarError(f"var {name}: {error}") from error


def plain_value(name: str, value: Any) -> None:
    """Numbers, booleans, null and plain text (recursively): no quotes, semicolons or comments."""
    if value is None or isinstance(value, bool | int | float | dt.date):
        return
    if isinstance(value, str):
        if not _PLAIN_TEXT.fullmatch(value) or "--" in value:
            raise VarError(
                f"var {name} may hold only letters, digits, spaces and _ . : / @ + - "
                f"(no quotes, semicolons or comment markers), got {value!r}"
            )
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            plain_value(f"{name}.{key}", item)
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            plain_value(f"{name}[{index}]", item)
        return
    raise VarError(f"var {name} has a value of unsupported type {type(value).__name__}")


def confined_path(value: Any, roots: Sequence[Path], base: Path) -> Path:
    """``value`` as a path inside one of ``roots`` (relative paths are taken from ``base``).

    Symlinks and ``..`` are resolved before the check, so neither can lead outside the roots.
    Raises ValueError when the path leaves them.
    """
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise ValueError(f"must be a non-empty file path, got {value!r}")
    plain_value("path", value)
    path = Path(value)
    resolved = (path if path.is_absolute() else base / path).resolve()
    resolved_roots = [(root if root.is_absolute() else base / root).resolve() for root in roots]
    if not any(resolved.is_relative_to(root) for root in resolved_roots):
        allowed = ", ".join(str(root) for root in resolved_roots)
        raise ValueError(f"{value!r} lies outside the allowed folders ({allowed})")
    return resolved


def allowed_dirs(environ: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The folders file-path vars may point into: ``$SEGMENTS_ALLOWED_DIRS`` or ``warehouse``."""
    environ = os.environ if environ is None else environ
    configured = environ.get(ALLOWED_DIRS_ENV, "")
    dirs = [Path(part) for part in configured.split(os.pathsep) if part.strip()]
    return tuple(dirs) or tuple(Path(d) for d in DEFAULT_ALLOWED_DIRS)


def path_in_allowed_dirs(base: Path, environ: Mapping[str, str] | None = None) -> Rule:
    """Rule for a file-path var: empty, or a path inside :func:`allowed_dirs`."""

    def check(name: str, value: Any) -> None:
        if value is None or value == "":
            return
        try:
            confined_path(value, allowed_dirs(environ), base)
        except ValueError as error:
            raise VarError(
                f"var {name} {error}; set ${ALLOWED_DIRS_ENV} to allow other folders"
            ) from error

    return check


# var name -> rule. A var added to dbt_project.yml gets its rule here.
RULES: dict[str, Rule] = {
    "as_of_date": optional_date,
    "evening_start_hour": integer_between(0, 23),
    "rfm_score_bins": integer_between(2, 9),
    "explanation_tree_max_depth": integer_between(1, 8),
    "explanation_cv_sample_size": integer_between(100, 1_000_000_000),
    "explanation_fit_sample_size": integer_between(1_000, 1_000_000_000),
    "fit_sample_size": integer_between(100, 1_000_000_000),
    "engagement_feature_role": one_of("describe", "define"),
    "email_attribution_days": integer_between(1, 90),
    "attribute_max_numeric_categories": integer_between(1, 1000),
    "segmentation": segmentation_settings,
    "retrain": boolean,
    "retraining_policy": retraining_policy,
    "evaluation": evaluation_settings,
    "quality_gate_severity": one_of("error", "warn"),
    "quality_gate_min_segments": integer_between(1, 1000),
    "quality_gate_max_segments": integer_between(1, 1000),
    "quality_gate_min_segment_share": number_between(0.0, 1.0),
    "quality_gate_max_noise_share": number_between(0.0, 1.0),
    "quality_gate_min_silhouette": number_between(-1.0, 1.0),
    "quality_gate_min_stability": number_between(0.0, 1.0),
}


# --------------------------------------------------------------------------------------------
# Reading and merging
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VarReport:
    """The outcome of a check: the effective vars, one message per bad var, unruled vars."""

    values: dict[str, Any]
    errors: tuple[str, ...]
    unruled: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def project_vars(project_dir: Path) -> dict[str, Any]:
    """The defaults under ``vars:`` in ``dbt_project.yml`` (project-scoped ones flattened)."""
    path = Path(project_dir) / PROJECT_FILE
    try:
        project = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as error:
        raise VarError(f"no {PROJECT_FILE} in {project_dir}") from error
    except yaml.YAMLError as error:
        raise VarError(f"{path} is not valid YAML: {error}") from error
    values = dict(project.get("vars") or {})
    # dbt also allows vars scoped to a project: vars: {customer_segments: {name: value}}
    scoped = values.pop(project.get("name"), None)
    if isinstance(scoped, Mapping):
        values.update(scoped)
    return values


def parse_override(text: str | None) -> dict[str, Any]:
    """The ``--vars`` text (YAML or JSON, as dbt takes it) as a mapping."""
    if text is None or not text.strip():
        return {}
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise VarError(f"--vars is not valid YAML: {error}") from error
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise VarError(
            f"--vars must be a mapping such as '{{as_of_date: 2011-06-01}}', got {text!r}"
        )
    return dict(values)


def check_vars(
    defaults: Mapping[str, Any],
    override: Mapping[str, Any],
    rules: Mapping[str, Rule] = RULES,
) -> VarReport:
    """Merge ``override`` over ``defaults`` (top level, as dbt does) and check every var."""
    errors: list[str] = []
    known = set(defaults) | set(rules)
    for name in override:
        if name not in known:
            errors.append(
                f"unknown var {name!r} (dbt would silently ignore it); known vars: "
                + ", ".join(sorted(known))
            )
    values = {**dict(defaults), **{k: v for k, v in override.items() if k in known}}
    unruled: list[str] = []
    for name, value in values.items():
        rule = rules.get(name)
        if rule is None:
            unruled.append(name)
            rule = plain_value
        try:
            rule(name, value)
        except VarError as error:
            errors.append(str(error))
    return VarReport(values=values, errors=tuple(errors), unruled=tuple(unruled))


def check_project_vars(project_dir: Path, override_text: str | None = None) -> VarReport:
    """Check the vars of the project in ``project_dir`` with the ``--vars`` text on top."""
    return check_vars(project_vars(project_dir), parse_override(override_text))

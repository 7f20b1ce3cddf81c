"""Checking a dbt var that is a mapping of settings: one helper for every settings module.

Each settings var (``segmentation``, ``evaluation``, ``retraining_policy``) is a mapping whose
keys mirror a table of defaults. :class:`VarChecker` merges a user's override over those
defaults and checks each value, raising the var's own error class with a message that names the
key by its full path (``evaluation.bootstrap.resamples must be an integer >= 2, got 1``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class SettingError(ValueError):
    """A setting is unknown or has a value of the wrong type or range (names the key)."""


def _text(number: float | None) -> str:
    return "" if number is None else f"{number:g}"


def is_integer(value: Any) -> bool:
    """True for an int that is not a bool (YAML's true is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """True for an int or float that is not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class VarChecker:
    """Checks the values of the var ``var``; failures raise ``error``."""

    var: str
    error: type[SettingError] = SettingError

    def key(self, prefix: str, key: str) -> str:
        """The full path of a key, e.g. ``segmentation.kmeans.k_max``."""
        return ".".join(part for part in (self.var, prefix, key) if part)

    def fail(self, message: str) -> SettingError:
        return self.error(message)

    # -- the whole var ------------------------------------------------------------------------

    def as_mapping(self, values: Mapping[str, Any] | str | None) -> Mapping[str, Any]:
        """The var as a mapping: None or "" is empty, text is parsed as JSON."""
        if values is None or (isinstance(values, str) and not values.strip()):
            return {}
        if isinstance(values, str):
            try:
                values = json.loads(values)
            except json.JSONDecodeError as error:
                raise self.fail(f"{self.var} var is text but not JSON: {error}") from error
        if not isinstance(values, Mapping):
            raise self.fail(f"{self.var} var must be a mapping, got {type(values).__name__}")
        return values

    def merge(
        self,
        defaults: Mapping[str, Any],
        values: Mapping[str, Any],
        opaque: Sequence[str] = (),
        path: str = "",
    ) -> dict[str, Any]:
        """Deep-merge ``values`` over ``defaults``; unknown keys are errors naming the key.

        Keys in ``opaque`` hold a mapping that replaces its default whole (e.g. a per-feature
        rule table whose keys are not known in advance).
        """
        merged = copy.deepcopy(dict(defaults))
        for key, value in values.items():
            if key not in defaults:
                known = ", ".join(sorted(defaults))
                raise self.fail(f"unknown setting {self.key(path, key)} (known: {known})")
            default = defaults[key]
            if isinstance(default, Mapping) and key not in opaque:
                if not isinstance(value, Mapping):
                    raise self.fail(f"{self.key(path, key)} must be a mapping, got {value!r}")
                inner = f"{path}.{key}" if path else key
                merged[key] = self.merge(default, value, opaque, inner)
            else:
                merged[key] = copy.deepcopy(value)
        return merged

    # -- single values ------------------------------------------------------------------------

    def integer(
        self, values: Mapping[str, Any], key: str, low: int, high: int | None = None, prefix=""
    ) -> int:
        """A whole number >= low (and <= high when given)."""
        value = values[key]
        if not is_integer(value) or value < low or (high is not None and value > high):
            bound = f"from {low} to {high}" if high is not None else f">= {low}"
            raise self.fail(f"{self.key(prefix, key)} must be an integer {bound}, got {value!r}")
        return value

    def optional_integer(
        self, values: Mapping[str, Any], key: str, low: int, prefix: str = ""
    ) -> int | None:
        """null, or a whole number >= low."""
        value = values[key]
        if value is None:
            return None
        if not is_integer(value) or value < low:
            raise self.fail(
                f"{self.key(prefix, key)} must be null or an integer >= {low}, got {value!r}"
            )
        return value

    def number(
        self,
        values: Mapping[str, Any],
        key: str,
        low: float | None = None,
        high: float | None = None,
        prefix: str = "",
        open_low: bool = False,
    ) -> float:
        """A number in [low, high] ((low, high] with ``open_low``); None leaves a side open."""
        value = values[key]
        ok = is_number(value) and value == value  # NaN is never in range
        if ok and low is not None:
            ok = value > low if open_low else value >= low
        if ok and high is not None:
            ok = value <= high
        if not ok:
            if low is not None and high is not None:
                bound = f"from {_text(low)} to {_text(high)}"
            elif low is not None:
                bound = f"{'>' if open_low else '>='} {_text(low)}"
            else:
                bound = f"<= {_text(high)}"
            raise self.fail(f"{self.key(prefix, key)} must be a number {bound}, got {value!r}")
        return float(value)

    def boolean(self, values: Mapping[str, Any], key: str, prefix: str = "") -> bool:
        """true or false."""
        value = values[key]
        if not isinstance(value, bool):
            raise self.fail(f"{self.key(prefix, key)} must be true or false, got {value!r}")
        return value

    def choice(
        self, values: Mapping[str, Any], key: str, allowed: Sequence[str], prefix: str = ""
    ) -> str:
        """One name out of ``allowed``."""
        value = values[key]
        if value not in allowed:
            raise self.fail(
                f"{self.key(prefix, key)} must be one of {tuple(allowed)}, got {value!r}"
            )
        return value

    def names(
        self,
        values: Mapping[str, Any],
        key: str,
        allowed: Sequence[str] | None,
        prefix: str = "",
    ) -> tuple[str, ...]:
        """A list of distinct names, each in ``allowed`` (None: any text)."""
        value = values[key]
        name = self.key(prefix, key)
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise self.fail(f"{name} must be a list, got {value!r}")
        if allowed is None:
            if not all(isinstance(item, str) for item in value):
                raise self.fail(f"{name} must be a list of names, got {value!r}")
        else:
            unknown = [item for item in value if item not in allowed]
            if unknown:
                raise self.fail(f"{name} has unknown entries {unknown}; allowed: {tuple(allowed)}")
        if len(set(value)) != len(value):
            raise self.fail(f"{name} lists an entry twice: {value}")
        return tuple(value)

    def integers(
        self, values: Mapping[str, Any], key: str, low: int, prefix: str = ""
    ) -> tuple[int, ...]:
        """A non-empty list of distinct whole numbers >= low (a single number is a list of one)."""
        value = values[key]
        name = self.key(prefix, key)
        if is_integer(value):
            value = [value]
        if not isinstance(value, list | tuple) or not value:
            raise self.fail(f"{name} must be a non-empty list of integers >= {low}, got {value!r}")
        if any(not is_integer(item) or item < low for item in value):
            raise self.fail(f"{name} must be a non-empty list of integers >= {low}, got {value!r}")
        if len(set(value)) != len(value):
            raise self.fail(f"{name} lists an entry twice: {value}")
        return tuple(value)


def canonical_json(values: Mapping[str, Any]) -> str:
    """Settings as canonical JSON (sorted keys, no spaces): equal settings, equal text."""
    return json.dumps(values, sort_keys=True, separators=(",", ":"))

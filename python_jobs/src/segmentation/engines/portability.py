"""A lint for the project's SQL: no DuckDB-only function outside a ``duckdb__`` macro.

The SQL of models/, macros/, tests/ and analyses/ runs on every target (DuckDB, PostgreSQL,
Spark, and whatever warehouse a user has). What one engine does differently lives in a
dispatched macro (``adapter.dispatch``): the DuckDB version is a ``duckdb__<name>`` macro and
may use anything DuckDB offers (as a ``spark__<name>`` macro may use Spark's functions);
everywhere else a function from :data:`DUCKDB_ONLY` is an error, named with its file, line
and the portable way to write it.

Scanned: SQL files, and the SQL inside YAML files (generic test arguments, unit-test
fixtures; descriptions are prose and left out). Left out as well: Jinja and SQL comments,
and the Jinja code inside ``{{ … }}`` and ``{% … %}`` (``log()``, ``range()`` are Jinja's),
whose quoted strings, often SQL, are scanned.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SCANNED_FOLDERS = ("models", "macros", "tests", "analyses")


@dataclass(frozen=True)
class Rule:
    """A DuckDB-only construct: how to find it, why it is not portable, what to use instead."""

    name: str
    pattern: re.Pattern[str]
    reason: str


def _function(names: str, reason: str) -> list[Rule]:
    # a call of the function, not a Jinja macro of the same name (dbt.datediff(...))
    return [
        Rule(name, re.compile(rf"(?<![.\w]){re.escape(name)}\s*\(", re.IGNORECASE), reason)
        for name in names.split()
    ]


DUCKDB_ONLY: tuple[Rule, ...] = (
    *_function(
        "strftime strptime epoch epoch_ms epoch_us epoch_ns today",
        "DuckDB date functions: use dbt's date macros (dbt.date_trunc, dbt.dateadd, "
        "dbt.datediff, dbt.last_day) or a dispatched macro",
    ),
    *_function(
        "date_diff datediff date_sub date_add",
        "absent from Postgres, or meaning something else on Spark: use dbt.datediff / dbt.dateadd",
    ),
    *_function(
        "dayofweek isodow dayname monthname",
        "day numbering differs (Spark's dayofweek counts Sunday = 1): use the day_of_week macro",
    ),
    *_function(
        "hash md5_number",
        "engine-specific hashes: use row_fingerprint / set_fingerprint (dispatched) or dbt.hash",
    ),
    *_function(
        "list list_value list_aggregate list_sort list_distinct struct_pack struct_extract "
        "unnest generate_series string_split str_split regexp_matches regexp_full_match",
        "DuckDB list, struct and generator functions have no common form on Postgres and Spark",
    ),
    *_function(
        "ifnull iif if count_if try_cast typeof printf len strlen contains",
        "not on Postgres: use coalesce, case, count(case …), cast, length",
    ),
    *_function(
        "arg_max arg_min argmax argmin max_by min_by any_value first last",
        "not on Postgres (any_value only from 16): rank with row_number() instead",
    ),
    *_function(
        "median quantile quantile_cont quantile_disc approx_quantile mode",
        "use percentile_cont(p) within group (order by …), which DuckDB, Postgres and Spark read",
    ),
    *_function(
        "fsum favg sumkahan kahan_sum product",
        "DuckDB-only aggregates",
    ),
    *_function(
        "read_parquet read_csv read_csv_auto read_json read_json_auto",
        "DuckDB table functions: read through a dbt source",
    ),
    *_function("log", "log(x) is base 10 on DuckDB and Postgres, natural on Spark: use ln"),
    Rule(
        "::",
        re.compile(r"::\s*[a-z_]", re.IGNORECASE),
        "`x::type` casts are not read by every engine: use cast(x as type)",
    ),
    Rule(
        "interval N unit",
        re.compile(r"\binterval\s+[0-9]+\s+[a-z]+", re.IGNORECASE),
        "an unquoted interval is not read by Postgres: use dbt.dateadd",
    ),
    Rule(
        "select * exclude/replace",
        re.compile(r"\*\s*(exclude|replace)\s*\(", re.IGNORECASE),
        "DuckDB's star modifiers: list the columns",
    ),
    Rule(
        "qualify",
        re.compile(r"\bqualify\b", re.IGNORECASE),
        "not on Postgres: filter the window in an outer query",
    ),
    Rule(
        "using sample",
        re.compile(r"\busing\s+sample\b", re.IGNORECASE),
        "DuckDB's sampling clause",
    ),
)

# Adapters whose own dispatched versions (<adapter>__<macro>) may use their own functions.
ADAPTER_PREFIXES = (
    "duckdb",
    "postgres",
    "spark",
    "databricks",
    "snowflake",
    "bigquery",
    "redshift",
    "trino",
    "athena",
    "fabric",
    "sqlserver",
)
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_ADAPTER_MACRO = re.compile(
    rf"\{{%-?\s*macro\s+(?:{'|'.join(ADAPTER_PREFIXES)})__\w+\s*\(.*?%\}}"
    r".*?\{%-?\s*endmacro\s*-?%\}",
    re.DOTALL,
)
_JINJA_CODE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.DOTALL)
_LINE_COMMENT = re.compile(r"--[^\n]*")


@dataclass(frozen=True)
class Finding:
    """One use of a DuckDB-only construct outside a duckdb__ macro."""

    path: Path
    line: int
    rule: Rule
    text: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: {self.rule.name} ({self.rule.reason}): {self.text.strip()}"
        )


def scannable_sql(text: str) -> str:
    """``text`` with what is not SQL for every engine blanked out, line numbers kept."""
    text = _JINJA_COMMENT.sub(_blank, text)
    text = _ADAPTER_MACRO.sub(_blank, text)
    text = _JINJA_CODE.sub(_strings_only, text)
    return _LINE_COMMENT.sub(_blank, text)


def _blank(match: re.Match[str]) -> str:
    # keep the newlines so findings point at the right line
    return re.sub(r"[^\n]", " ", match.group(0))


def _strings_only(match: re.Match[str]) -> str:
    """Jinja code blanked out but for its quoted strings (which often hold SQL)."""
    code = match.group(0)
    kept = [" " if char != "\n" else char for char in code]
    for string in _QUOTED.finditer(code):
        kept[string.start() + 1 : string.end() - 1] = code[string.start() + 1 : string.end() - 1]
    return "".join(kept)


def find_in_sql(text: str) -> Iterator[tuple[int, Rule, str]]:
    """(line number, rule, line) of every DuckDB-only construct in SQL text."""
    lines = text.splitlines()
    for number, line in enumerate(scannable_sql(text).splitlines(), start=1):
        for rule in DUCKDB_ONLY:
            if rule.pattern.search(line):
                yield number, rule, lines[number - 1]


def yaml_sql(document: Any) -> Iterator[str]:
    """Every text value of a YAML document except descriptions (prose, not SQL)."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key != "description":
                yield from yaml_sql(value)
    elif isinstance(document, list):
        for item in document:
            yield from yaml_sql(item)
    elif isinstance(document, str):
        yield document


def find_in_file(path: Path) -> Iterator[tuple[int, Rule, str]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".sql":
        yield from find_in_sql(text)
        return
    for value in yaml_sql(yaml.safe_load(text)):
        for _, rule, line in find_in_sql(value):
            # YAML values lose their place: point at the first line holding the text
            number = next(
                (i for i, raw in enumerate(text.splitlines(), 1) if line.strip() in raw), 0
            )
            yield number, rule, line


def lint(project: Path) -> list[Finding]:
    """Every DuckDB-only construct outside a duckdb__ macro in the project's SQL."""
    findings = []
    for folder in SCANNED_FOLDERS:
        for path in sorted((project / folder).rglob("*")):
            if path.suffix not in (".sql", ".yml", ".yaml"):
                continue
            findings += [
                Finding(path.relative_to(project), number, rule, line)
                for number, rule, line in find_in_file(path)
            ]
    return findings

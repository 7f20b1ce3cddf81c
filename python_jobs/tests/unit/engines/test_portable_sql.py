"""The SQL of the project runs on every target: no DuckDB-only function outside a duckdb__ macro
(segmentation.engines.portability), checked on the project and on planted mistakes."""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers import REPO_ROOT

from segmentation.engines.portability import SCANNED_FOLDERS, find_in_sql, lint


def _rules(sql: str) -> list[str]:
    return [rule.name for _, rule, _ in find_in_sql(sql)]


def test_the_project_sql_uses_no_duckdb_only_function_outside_duckdb_macros() -> None:
    findings = lint(REPO_ROOT)
    assert not findings, "DuckDB-only SQL outside duckdb__ macros:\n" + "\n".join(
        map(str, findings)
    )


def test_a_strftime_planted_in_a_model_is_found(tmp_path: Path) -> None:
    for folder in SCANNED_FOLDERS:
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder)
    model = tmp_path / "models" / "marts" / "customers" / "fct_customer_features.sql"
    text = model.read_text()
    assert "        bounds.as_of_date,\n" in text
    planted = "        strftime(bounds.as_of_date, '%Y') as as_of_year,\n"
    model.write_text(
        text.replace("        bounds.as_of_date,\n", "        bounds.as_of_date,\n" + planted)
    )

    findings = lint(tmp_path)

    assert [(str(f.path), f.rule.name) for f in findings] == [
        ("models/marts/customers/fct_customer_features.sql", "strftime")
    ]
    assert "strftime(bounds.as_of_date" in findings[0].text
    assert model.read_text().splitlines()[findings[0].line - 1] == findings[0].text


def test_duckdb_and_other_adapter_macros_may_use_their_own_functions() -> None:
    sql = """
{% macro duckdb__year(x) -%}
    strftime({{ x }}, '%Y')
{%- endmacro %}
{% macro spark__weekday(x) -%}
    dayofweek({{ x }})
{%- endmacro %}
{% macro default__year(x) -%}
    strftime({{ x }}, '%Y')
{%- endmacro %}
"""
    findings = list(find_in_sql(sql))
    assert [(line, rule.name) for line, rule, _ in findings] == [(9, "strftime")]


def test_comments_and_jinja_code_are_not_sql_but_jinja_strings_are() -> None:
    assert _rules("select 1 -- not strftime(x)\n{# nor hash(x) #}") == []
    assert _rules('{% for i in range(3) %}{{ log("note", info=True) }}{% endfor %}') == []
    assert _rules('{{ dbt.safe_cast("hash(customer_id)", "varchar") }}') == ["hash"]
    # dbt's cross-database macros are the portable way, not a DuckDB function
    assert _rules("select {{ dbt.datediff('a', 'b', 'day') }}") == []
    assert _rules("select datediff('day', a, b)") == ["datediff"]


def test_duckdb_syntax_is_found() -> None:
    assert _rules("select invoiced_at::date from t") == ["::"]
    assert _rules("select invoiced_at + interval 1 day from t") == ["interval N unit"]
    assert _rules("select * exclude (a) from t") == ["select * exclude/replace"]
    assert _rules("select * from t qualify row_number() over () = 1") == ["qualify"]
    assert _rules("select cast(x as date) as day, 1 as i from t") == []


def test_sql_in_yaml_is_scanned_and_descriptions_are_not(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "_models.yml").write_text(
        """version: 2
models:
  - name: m
    description: Uses nothing like strftime(x) itself.
    data_tests:
      - expression_is_true:
          arguments:
            expression: "median(a) > 0"
"""
    )
    findings = lint(tmp_path)
    assert [(f.rule.name, f.line) for f in findings] == [("median", 8)]

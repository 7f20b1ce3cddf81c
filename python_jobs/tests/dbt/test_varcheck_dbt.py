"""dbt refuses a bad var on its own, for a dbt run without `segmentation check-vars`."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import REPO_ROOT, dbt_vars, run_dbt

from segmentation.config import varcheck
from segmentation.io.dbt_commands import AS_OF_DATE_ENV_VAR

pytestmark = pytest.mark.dbt

INJECTION = "2011-01-01'; drop table marts.dim_segments; --"


def test_dbt_compile_refuses_an_injected_as_of_date(tmp_path: Path) -> None:
    """The SQL side refuses the value check-vars refuses (tests/unit/config/test_varcheck.py)."""
    injected = {"as_of_date": INJECTION}
    compile_ = ["compile", "--select", "int_sale_lines_netted", *dbt_vars(injected)]
    refused = run_dbt(compile_, tmp_path / "compile.duckdb", tmp_path, check=False)
    assert refused.returncode != 0
    assert "(var 'as_of_date', or SEGMENTS_AS_OF_DATE) must be a date written YYYY-MM-DD" in (
        refused.stdout
    )
    compiled = tmp_path / "target" / "compiled"
    assert not any("drop table" in p.read_text() for p in compiled.rglob("*.sql"))
    # and check-vars refuses it before dbt would start
    assert not varcheck.check_project_vars(REPO_ROOT, f'{{as_of_date: "{INJECTION}"}}').ok


def test_dbt_compile_refuses_an_injected_as_of_date_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The date replay passes through the environment is checked like the var."""
    monkeypatch.setenv(AS_OF_DATE_ENV_VAR, INJECTION)
    compile_ = ["compile", "--select", "int_sale_lines_netted"]
    refused = run_dbt(compile_, tmp_path / "compile.duckdb", tmp_path, check=False)
    assert refused.returncode != 0
    assert "must be a date written YYYY-MM-DD" in refused.stdout
    compiled = tmp_path / "target" / "compiled"
    assert not any("drop table" in p.read_text() for p in compiled.rglob("*.sql"))

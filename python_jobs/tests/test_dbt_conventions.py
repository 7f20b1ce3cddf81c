"""The dbt project's conventions (models/_docs.md, "Conventions"), checked on its manifest.

`dbt parse` alone writes the manifest: no warehouse is built, so the whole module takes seconds.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path, PurePosixPath

import pytest
from conftest import REPO_ROOT, run_dbt

pytestmark = pytest.mark.dbt

PROJECT = "customer_segments"
# Tests that pin a model's grain on their own; `unique` does so together with `not_null` on
# the same column.
KEY_TESTS = {"unique_combination_of_columns", "at_most_one_row"}
# A duration figure such as "0.7 s", "12 seconds" or "3 min": it goes stale with the next
# change or machine, and persist_docs copies descriptions into the warehouse.
TIMING = re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:ms|s|secs?|seconds?|mins?|minutes?)\b")
# A path into the package named in the project's text, e.g. describe/{profiles,personas}.py.
PACKAGE_PATH = re.compile(r"python_jobs/src/segmentation/(?:[\w./]|\{[\w,]+\})*")
BRACES = re.compile(r"\{([\w,]+)\}")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("conventions")
    run_dbt(["parse"], work / "unused.duckdb", work)
    return json.loads((work / "target" / "manifest.json").read_text())


def _models(manifest: dict) -> list[dict]:
    models = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == PROJECT
    ]
    assert len(models) >= 40, len(models)  # the check saw the project
    return models


def _tests_by_node(manifest: dict) -> dict[str, list[dict]]:
    """Generic tests of one model or source, by the node they test."""
    tests: dict[str, list[dict]] = defaultdict(list)
    for node in manifest["nodes"].values():
        parents = node.get("depends_on", {}).get("nodes", [])
        if node["resource_type"] == "test" and node.get("test_metadata") and len(parents) == 1:
            tests[parents[0]].append(node["test_metadata"])
    return tests


def _has_key_test(tests: list[dict], columns: list[str] | None = None) -> bool:
    """Whether the tests pin a grain (on exactly `columns` when given)."""
    unique = {t["kwargs"].get("column_name") for t in tests if t["name"] == "unique"}
    not_null = {t["kwargs"].get("column_name") for t in tests if t["name"] == "not_null"}
    keys = [[column] for column in unique & not_null] + [
        list(t["kwargs"].get("combination_of_columns") or [])
        for t in tests
        if t["name"] in KEY_TESTS
    ]
    return any(columns is None or sorted(key) == sorted(columns) for key in keys)


def test_every_model_name_starts_with_its_folders_prefix(manifest: dict) -> None:
    wrong = []
    for model in _models(manifest):
        prefixes = model["config"]["meta"].get("name_prefixes")
        if not prefixes:
            wrong.append(f"{model['original_file_path']}: its folder declares no name_prefixes")
        elif not model["name"].startswith(tuple(prefixes)):
            wrong.append(f"{model['original_file_path']}: not {' or '.join(prefixes)}")
    assert not wrong, "\n".join(wrong)


def test_every_model_has_a_primary_key_test(manifest: dict) -> None:
    tests = _tests_by_node(manifest)
    missing = []
    for model in _models(manifest):
        elsewhere = model["config"]["meta"].get("primary_key_tested_on")
        if elsewhere:
            # the key is the source's, tested there (the reason is in the model's description)
            source = f"source.{PROJECT}.{elsewhere['source']}"
            if not _has_key_test(tests[source], elsewhere["columns"]):
                missing.append(f"{model['name']}: no key test on {elsewhere}")
        elif not _has_key_test(tests[model["unique_id"]]):
            missing.append(model["name"])
    assert not missing, "no primary-key test:\n" + "\n".join(missing)


def test_only_staging_reads_sources(manifest: dict) -> None:
    readers = [
        model["original_file_path"]
        for model in _models(manifest)
        if any(p.startswith("source.") for p in model["depends_on"]["nodes"])
    ]
    outside_staging = [path for path in readers if not path.startswith("models/staging/")]
    assert readers and not outside_staging, outside_staging


def test_each_folder_describes_its_models_in_its_own_yaml(manifest: dict) -> None:
    wrong = []
    for model in _models(manifest):
        folder = PurePosixPath(model["original_file_path"]).parent
        expected = folder / f"_{folder.name}__models.yml"
        described_in = (model.get("patch_path") or "").split("://")[-1]
        if PurePosixPath(described_in) != expected:
            wrong.append(
                f"{model['name']}: described in {described_in or 'no YAML'}, not {expected}"
            )
    assert not wrong, "\n".join(wrong)


def test_descriptions_and_code_state_no_timings(manifest: dict) -> None:
    texts: list[tuple[str, str]] = []
    for node in [*manifest["nodes"].values(), *manifest["sources"].values()]:
        if node["package_name"] != PROJECT:
            continue
        texts.append((node["unique_id"], node.get("description") or ""))
        texts.append((node["unique_id"], node.get("raw_code") or ""))
        texts += [
            (f"{node['unique_id']}.{name}", column.get("description") or "")
            for name, column in node.get("columns", {}).items()
        ]
    for macro in manifest["macros"].values():
        if macro["package_name"] == PROJECT:
            texts += [
                (macro["unique_id"], macro["description"]),
                (macro["unique_id"], macro["macro_sql"]),
            ]
    found = [
        f"{where}: {match.group(0)!r}" for where, text in texts for match in TIMING.finditer(text)
    ]
    assert len(texts) > 500 and not found, "\n".join(found)


def test_the_overview_states_the_conventions_it_checks(manifest: dict) -> None:
    overview = manifest["docs"][f"doc.{PROJECT}.__overview__"]["block_contents"]
    prefixes = {
        prefix for model in _models(manifest) for prefix in model["config"]["meta"]["name_prefixes"]
    }
    assert "## Conventions" in overview
    assert all(f"`{prefix}`" in overview for prefix in prefixes), sorted(prefixes)
    assert Path(__file__).name in overview


def _expand(path: str) -> list[str]:
    """`a/{b,c}.py` -> [`a/b.py`, `a/c.py`]."""
    match = BRACES.search(path)
    if not match:
        return [path.rstrip(".")]
    return [
        expanded
        for choice in match.group(1).split(",")
        for expanded in _expand(path[: match.start()] + choice + path[match.end() :])
    ]


def test_the_package_paths_the_project_names_exist() -> None:
    """Descriptions and comments name package modules; a move must not leave them stale."""
    files = [REPO_ROOT / "dbt_project.yml"] + [
        path
        for folder in ("models", "macros", "tests", "seeds", "analyses")
        for path in sorted((REPO_ROOT / folder).rglob("*"))
        if path.suffix in {".sql", ".py", ".yml", ".md"}
    ]
    named = {
        (path.relative_to(REPO_ROOT), expanded)
        for path in files
        for match in PACKAGE_PATH.finditer(path.read_text())
        for expanded in _expand(match.group(0))
    }
    missing = [
        f"{where}: {target}" for where, target in sorted(named) if not (REPO_ROOT / target).exists()
    ]
    assert len(named) > 20 and not missing, "\n".join(missing)

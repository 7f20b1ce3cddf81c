"""The docs site as `make run` leaves it: dbt build -> segmentation charts -> dbt docs generate.

A copy of the session's demo warehouse (conftest.py: built as of the end of its log) is scored a
second time three months later, retraining the model (var retrain), so every chart, history and
what the retrain changed included, has data.
`dbt docs generate` runs in a scratch copy of
the project made of links to the real files, so the charts it copies (asset-paths) land in a
temporary folder, never in the project's own warehouse/ or target/.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from collections import deque
from pathlib import Path

import pytest
from helpers import (
    PROJECT_NAME,
    REPO_ROOT,
    dbt_env,
    dbt_executable,
    dbt_vars,
    run_dbt,
    scalar,
    venv_executable,
)

from segmentation.charts import (
    CHART_NAMES,
    CHARTS,
    DEFAULT_CHARTS_DIR,
    DRAWN,
    INDEX_FILE,
)

pytestmark = pytest.mark.dbt

# The second scoring run is this many days after the first, which is as of the end of the log.
LATER_RUN_DAYS = 92
# The second run retrains (so ml_model_migration has rows for its chart). Three months on, the
# segments may miss a quality gate (their own tests check the gates): warn.
RETRAIN_LATER = {"retrain": True, "quality_gate_severity": "warn"}
# Left out of the scratch project: runtime output, never read by dbt.
NOT_LINKED = {".git", ".venv", "target", "logs", "warehouse"}
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Site:
    """What the module built: the scratch project, its warehouse and the generated docs."""

    def __init__(self, project: Path, database: Path, target: Path, charts_log: str) -> None:
        self.project = project
        self.database = database
        self.target = target
        self.charts_log = charts_log
        self.manifest = json.loads((target / "manifest.json").read_text())
        self.catalog = json.loads((target / "catalog.json").read_text())

    def model(self, name: str) -> dict:
        return self.manifest["nodes"][f"model.{PROJECT_NAME}.{name}"]


@pytest.fixture(scope="module")
def site(demo_copy, tmp_path_factory: pytest.TempPathFactory) -> Site:
    work = tmp_path_factory.mktemp("docs_site")
    database = demo_copy.database
    # a second scoring run, as after a second monthly `make run`, so the history charts have data
    later = _last_invoice_date(database) + dt.timedelta(days=1 + LATER_RUN_DAYS)
    # as `make run` builds: the dbt unit tests check the SQL on the default vars
    second_run = ["build", "--exclude-resource-type", "unit_test"]
    run_dbt([*second_run, *dbt_vars({"as_of_date": str(later), **RETRAIN_LATER})], database, work)
    project = work / "project"
    project.mkdir()
    for entry in REPO_ROOT.iterdir():
        if entry.name not in NOT_LINKED:
            (project / entry.name).symlink_to(entry)
    # as in `make run`: from the project folder, with the default output folder
    charts = subprocess.run(
        [str(venv_executable("segmentation")), "charts", "--database", str(database)],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert charts.returncode == 0, charts.stdout + charts.stderr
    target = work / "docs_target"
    command = [str(dbt_executable()), "docs", "generate", "--project-dir", str(project)]
    command += ["--target-path", str(target), "--log-path", str(work / "docs_logs")]
    docs = subprocess.run(
        command, cwd=project, env=dbt_env(database), capture_output=True, text=True
    )
    assert docs.returncode == 0, docs.stdout[-4000:] + docs.stderr[-2000:]
    return Site(project, database, target, charts.stdout)


def test_every_model_column_source_seed_and_macro_is_described(site: Site) -> None:
    """Undocumented additions anywhere in the project fail here, all named at once."""
    missing: list[str] = []
    for unique_id, node in site.manifest["nodes"].items():
        kind = node["resource_type"]
        if node["package_name"] != PROJECT_NAME or kind not in (
            "model",
            "seed",
            "snapshot",
            "analysis",
        ):
            continue
        if not node["description"].strip():
            missing.append(f"{kind} {node['name']}")
        missing += [
            f"{kind} {node['name']} column {name}"
            for name, column in node["columns"].items()
            if not column["description"].strip()
        ]
        # columns the warehouse has but the YAML does not declare have no description either
        declared = {name.lower() for name in node["columns"]}
        built = site.catalog["nodes"].get(unique_id, {}).get("columns", {})
        missing += [
            f"{kind} {node['name']} column {name} (in the warehouse, not in the YAML)"
            for name in built
            if name.lower() not in declared
        ]
    for unique_id, source in site.manifest["sources"].items():
        if source["package_name"] != PROJECT_NAME:
            continue
        label = f"source {source['source_name']}.{source['name']}"
        if not source["description"].strip():
            missing.append(label)
        if not source["source_description"].strip():
            missing.append(f"source {source['source_name']} (the source itself)")
        missing += [
            f"{label} column {name}"
            for name, column in source["columns"].items()
            if not column["description"].strip()
        ]
        declared = {name.lower() for name in source["columns"]}
        built = site.catalog["sources"].get(unique_id, {}).get("columns", {})
        missing += [
            f"{label} column {name} (not in the YAML)"
            for name in built
            if name.lower() not in declared
        ]
    for macro in site.manifest["macros"].values():
        if macro["package_name"] != PROJECT_NAME:
            continue
        if not macro["description"].strip():
            missing.append(f"macro {macro['name']} ({macro['original_file_path']})")
        missing += [
            f"macro {macro['name']} argument {argument['name']}"
            for argument in macro["arguments"]
            if not (argument.get("description") or "").strip()
        ]
    counts = {
        kind: sum(
            n["resource_type"] == kind and n["package_name"] == PROJECT_NAME
            for n in site.manifest["nodes"].values()
        )
        for kind in ("model", "seed")
    }
    assert counts["model"] >= 10 and counts["seed"] >= 2, counts  # the check saw the project
    assert not missing, "undocumented:\n" + "\n".join(sorted(set(missing)))


def test_lineage_runs_from_the_raw_log_through_python_models_to_the_segment_marts(
    site: Site,
) -> None:
    parents = site.manifest["parent_map"]
    python_models = {
        node["name"]
        for node in site.manifest["nodes"].values()
        if node["resource_type"] == "model" and node["language"] == "python"
    }
    # the kept model lives in ml_registry_runs; customers are scored from it in SQL
    assert {"ml_model_candidates", "ml_registry_runs"} <= python_models
    # ml_runtime_environment describes the Python environment and reads no table (so it runs
    # first); every other python model reads the feature mart, directly or through another
    assert parents[f"model.{PROJECT_NAME}.ml_runtime_environment"] == []
    for name in python_models - {"ml_runtime_environment"}:
        ancestors = _ancestors(parents, f"model.{PROJECT_NAME}.{name}")
        assert f"model.{PROJECT_NAME}.fct_customer_features" in ancestors, name
    for mart in ("dim_segments", "fct_customer_segments"):
        ancestors = _ancestors(parents, f"model.{PROJECT_NAME}.{mart}")
        assert f"model.{PROJECT_NAME}.ml_customer_assignments" in ancestors, mart
        names = {ancestor.split(".")[-1] for ancestor in ancestors}
        assert names & python_models, f"{mart} does not read a python model"
        assert f"source.{PROJECT_NAME}.shop.transactions" in ancestors
        assert f"model.{PROJECT_NAME}.stg_shop__transactions" in ancestors


def test_each_chart_is_produced_non_empty_and_copied_into_the_docs_site(site: Site) -> None:
    charts = site.project / DEFAULT_CHARTS_DIR
    index = {entry["name"]: entry for entry in json.loads((charts / INDEX_FILE).read_text())}
    assert list(index) == list(CHART_NAMES)
    # every table exists and there are two scoring runs: nothing may be skipped
    assert {name: entry["status"] for name, entry in index.items()} == dict.fromkeys(
        CHART_NAMES, DRAWN
    ), index
    for chart in CHARTS:
        produced = charts / chart.file_name
        copied = site.target / DEFAULT_CHARTS_DIR / chart.file_name
        assert produced.read_bytes()[:8] == PNG_SIGNATURE, chart.name
        assert produced.stat().st_size > (20_000 if index[chart.name]["status"] == DRAWN else 0)
        assert copied.read_bytes() == produced.read_bytes(), chart.name
        line = f"wrote {DEFAULT_CHARTS_DIR / chart.file_name}"
        assert line in site.charts_log or f"skipped {chart.name}: " in site.charts_log


def test_the_overview_page_shows_every_chart_and_its_links_resolve(site: Site) -> None:
    overview = site.manifest["docs"][f"doc.{PROJECT_NAME}.__overview__"]["block_contents"]
    links = IMAGE_LINK.findall(overview)
    assert sorted(Path(link).name for link in links) == sorted(c.file_name for c in CHARTS)
    index_html = site.target / "index.html"
    assert index_html.exists()
    for link in links:
        # the docs site is index.html in the target folder: links resolve from there
        image = (index_html.parent / link).resolve()
        assert image.is_file() and image.stat().st_size > 0, link
        assert image.read_bytes()[:8] == PNG_SIGNATURE, link


def test_exposures_declare_the_dashboard_and_every_table_the_charts_read(site: Site) -> None:
    exposures = {e["name"]: e for e in site.manifest["exposures"].values()}
    assert exposures["segmentation_dashboard"]["type"] == "dashboard"
    charts = exposures["segmentation_charts"]
    read = {node.split(".")[-1] for node in charts["depends_on"]["nodes"]}
    models = {n["name"] for n in site.manifest["nodes"].values() if n["resource_type"] == "model"}
    needed = {table.split(".")[1] for chart in CHARTS for table in chart.tables}
    # a chart's table that is a model of this project must be in the exposure (lineage)
    assert needed & models <= read, sorted((needed & models) - read)
    for exposure in exposures.values():
        assert exposure["description"].strip() and exposure["owner"]["name"]


def _last_invoice_date(database: Path) -> dt.date:
    return scalar(database, "select max(invoiced_at) from raw.transactions").date()


def _ancestors(parents: dict[str, list[str]], node: str) -> set[str]:
    seen: set[str] = set()
    queue = deque([node])
    while queue:
        for parent in parents.get(queue.popleft(), []):
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)
    return seen

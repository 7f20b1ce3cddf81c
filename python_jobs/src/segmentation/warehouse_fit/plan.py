"""Which Python models the fit runs, in which order, with which inputs and configuration.

The plan comes from dbt's manifest for the target (``dbt parse --target <target>``), so the
fit sees exactly what dbt would give the models: the same refs, the same rendered ``config``
(vars included) and the same relation names (schema and alias).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segmentation.io.dbt_commands import WITHOUT_UNIT_TESTS

# A Python model whose config names this strategy returns only its new rows (the registry log).
APPEND_STRATEGY = "append"


class PlanError(ValueError):
    """The manifest does not describe a fit that can run (names the model at fault)."""


@dataclass(frozen=True)
class Relation:
    """Where a node's table lives on the target."""

    database: str | None
    schema: str
    identifier: str

    @property
    def name(self) -> str:
        """``schema.identifier``: how the fit names the table in SQL (one database)."""
        return f"{self.schema}.{self.identifier}"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Step:
    """One Python model: its code, inputs (node names it refs) and configuration."""

    name: str
    relation: Relation
    code: str
    path: str
    refs: tuple[str, ...]
    config: Mapping[str, Any] = field(default_factory=dict)
    # Python models this one must follow: those it refs, and those upstream of the SQL models
    # it refs (ml_customer_assignments scores with the kept model's tables)
    after: tuple[str, ...] = ()

    @property
    def appends(self) -> bool:
        """True when the model returns only the rows to add to its table."""
        return self.config.get("incremental_strategy") == APPEND_STRATEGY


@dataclass(frozen=True)
class Plan:
    """The steps in dependency order and the other nodes they read."""

    steps: tuple[Step, ...]
    inputs: Mapping[str, Relation]  # name -> relation of every non-Python node a step refs
    # the inputs that need no Python model (dbt builds them before the fit; the others, such
    # as ml_customer_assignments, the fit stands in for)
    upstream_inputs: tuple[str, ...] = ()

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest that ``dbt parse`` wrote."""
    if not path.exists():
        raise PlanError(f"no dbt manifest at {path}: run dbt parse for the target first")
    return json.loads(path.read_text())


def plan_from_manifest(manifest: Mapping[str, Any]) -> Plan:
    """Every enabled Python model of the project, ordered so that each follows its inputs."""
    nodes = manifest["nodes"]
    models = {
        node["name"]: node
        for node in nodes.values()
        if node.get("resource_type") == "model" and node.get("language") == "python"
    }
    by_id = {unique_id: node["name"] for unique_id, node in nodes.items()}
    steps: dict[str, Step] = {}
    inputs: dict[str, Relation] = {}
    upstream: set[str] = set()
    for name, node in models.items():
        refs = tuple(
            by_id[unique_id]
            for unique_id in node.get("depends_on", {}).get("nodes", [])
            if unique_id in by_id
        )
        steps[name] = Step(
            name=name,
            relation=_relation(node),
            code=str(node.get("raw_code") or ""),
            path=str(node.get("original_file_path", "")),
            refs=refs,
            config=dict(node.get("config", {})),
            after=tuple(sorted(python_upstream(nodes, node))),
        )
        for ref in refs:
            if ref not in models:
                parent = _node_named(nodes, ref)
                inputs[ref] = _relation(parent)
                if not python_upstream(nodes, parent):
                    upstream.add(ref)
    order = tuple(steps[name] for name in dependency_order(steps))
    return Plan(order, inputs, tuple(sorted(upstream)))


def dependency_order(steps: Mapping[str, Step]) -> list[str]:
    """Names of ``steps`` so that every step comes after the steps it refs; among steps that
    are ready together, by name (the same order on every run). A cycle is a ``PlanError``."""
    waiting = {
        name: {ref for ref in (*step.refs, *step.after) if ref in steps and ref != name}
        for name, step in steps.items()
    }
    order: list[str] = []
    while waiting:
        ready = sorted(name for name, needs in waiting.items() if not needs)
        if not ready:
            raise PlanError(f"the Python models ref each other in a cycle: {sorted(waiting)}")
        for name in ready:
            order.append(name)
            del waiting[name]
        for needs in waiting.values():
            needs.difference_update(ready)
    return order


def python_upstream(nodes: Mapping[str, Any], node: Mapping[str, Any]) -> set[str]:
    """Names of the Python models ``node`` depends on, directly or through other nodes (the
    search stops at each Python model it meets)."""
    found: set[str] = set()
    seen: set[str] = set()
    pending = list(node.get("depends_on", {}).get("nodes", []))
    while pending:
        unique_id = pending.pop()
        if unique_id in seen or unique_id not in nodes:
            continue
        seen.add(unique_id)
        parent = nodes[unique_id]
        if parent.get("resource_type") == "model" and parent.get("language") == "python":
            found.add(str(parent["name"]))
        else:
            pending.extend(parent.get("depends_on", {}).get("nodes", []))
    return found


def select_steps(plan: Plan, wanted: Sequence[str]) -> Plan:
    """The plan restricted to ``wanted`` and every step they depend on, in plan order."""
    names = {step.name for step in plan.steps}
    unknown = sorted(set(wanted) - names)
    if unknown:
        raise PlanError(f"no Python model named {', '.join(unknown)}")
    keep = set(wanted)
    for step in reversed(plan.steps):
        if step.name in keep:
            keep.update(ref for ref in (*step.refs, *step.after) if ref in names)
    return Plan(
        tuple(step for step in plan.steps if step.name in keep), plan.inputs, plan.upstream_inputs
    )


def build_inputs_args(inputs: Sequence[str], unit_tests: bool = False) -> list[str]:
    """``dbt build`` of the fit's ``inputs`` and their parents, with the data tests on those
    alone (a test that also reads a table the fit makes waits for the build after it)."""
    args = ["build", "--select", *(f"+{name}" for name in inputs)]
    args += ["--indirect-selection", "cautious"]
    return args if unit_tests else [*args, *WITHOUT_UNIT_TESTS]


def build_rest_args(inputs: Sequence[str]) -> list[str]:
    """``dbt build`` of everything :func:`build_inputs_args` left out: together the two run
    every node and every data test once (unit tests of the inputs' models excepted)."""
    args = ["build", "--exclude", *(f"+{name}" for name in inputs)]
    return [*args, "--indirect-selection", "cautious"]


def _relation(node: Mapping[str, Any]) -> Relation:
    return Relation(
        database=node.get("database"),
        schema=str(node["schema"]),
        identifier=str(node.get("alias") or node["name"]),
    )


def _node_named(nodes: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    for node in nodes.values():
        if node.get("name") == name and node.get("resource_type") in ("model", "seed", "snapshot"):
            return node
    raise PlanError(f"the manifest has no model or seed named {name}")

"""Running the project's Python models beside dbt: the same files, the same package calls.

Each step of the :class:`~segmentation.warehouse_fit.plan.Plan` is a Python model file; the
runner executes it and calls its ``model(dbt, session)`` with :class:`FitDbt` and
:class:`FitSession`, which give what dbt-duckdb gives:

- ``dbt.ref(name)``: a table made earlier in this run (in memory); for ``fct_customer_features``
  the fit sample (:mod:`.sample`); for another per-customer table (one with a ``customer_id``
  column) its rows of the sampled customers; for ``ml_customer_assignments``, the SQL model the
  evaluation and personas read, the sampled customers scored with the kept model just fitted
  (:func:`segmentation.engine.scoring.assignments`, the Python twin of that SQL); any other
  table (a seed, say) as it is;
- ``dbt.config.get(key)``: the model's configuration from the manifest, vars rendered;
- ``dbt.this`` and ``dbt.is_incremental``; ``session.sql(query)`` for the rows a model held
  before (the registry log, the evaluation's previous results).

Nothing is written until every step has run; then :meth:`Warehouse.replace_tables` writes all
tables at once (staged, swapped). A model that returns only new rows (``incremental_strategy:
append``, the registry log) is written as its previous rows plus the new ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from segmentation.engine import scoring
from segmentation.io.dbt_io import existing_rows, to_pandas
from segmentation.io.tables import SCHEMAS, conform
from segmentation.warehouse_fit.plan import Plan, Relation, Step
from segmentation.warehouse_fit.sample import KEY_COLUMN, restricted_query, sample_query
from segmentation.warehouse_fit.warehouses import TableWrite, Warehouse

FEATURES_MODEL = "fct_customer_features"
ASSIGNMENTS_MODEL = "ml_customer_assignments"


class FitError(RuntimeError):
    """A step of the fit failed; the message names the model and its file."""


@dataclass
class StepResult:
    """What one step made."""

    name: str
    rows: int
    seconds: float


@dataclass
class FitResult:
    """Every table of the run and how long each step took."""

    tables: dict[str, pd.DataFrame]
    steps: list[StepResult] = field(default_factory=list)
    sample_rows: int = 0

    def writes(self, plan: Plan) -> list[TableWrite]:
        return [TableWrite(step.relation, step.name, self.tables[step.name]) for step in plan.steps]


class FitConfig:
    """``dbt.config`` of one model: ``get`` reads the manifest's config; calling it (the model's
    own ``dbt.config(...)``) changes nothing, since the manifest already holds those values."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        return None

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)


class FitDbt:
    """The ``dbt`` object a model receives from the runner."""

    def __init__(self, step: Step, ref: Callable[[str], pd.DataFrame], exists: bool) -> None:
        self.config = FitConfig(step.config)
        self.this = step.relation
        self.is_incremental = bool(step.appends and exists)
        self._ref = ref

    def ref(self, name: str, *args: Any, **kwargs: Any) -> pd.DataFrame:
        return self._ref(name)

    def source(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        raise FitError("the project's Python models read models, not sources (dbt.source)")


class FitSession:
    """The ``session`` a model receives: ``sql(query)`` runs on the warehouse."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def sql(self, query: str) -> pd.DataFrame:
        return self.warehouse.query(query)


class Runner:
    """Runs a plan against one warehouse (see the module doc)."""

    def __init__(
        self,
        plan: Plan,
        warehouse: Warehouse,
        sample_size: int,
        echo: Callable[[str], None] = print,
    ) -> None:
        self.plan = plan
        self.warehouse = warehouse
        self.sample_size = sample_size
        self.echo = echo
        self.session = FitSession(warehouse)
        self.made: dict[str, pd.DataFrame] = {}
        self._sample: pd.DataFrame | None = None

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> FitResult:
        """Every step in order; the tables in memory (nothing is written here)."""
        result = FitResult(self.made)
        for step in self.plan.steps:
            started = time.perf_counter()
            self.made[step.name] = self.run_step(step)
            seconds = time.perf_counter() - started
            result.steps.append(StepResult(step.name, len(self.made[step.name]), seconds))
            self.echo(f"  {step.name}: {len(self.made[step.name])} rows ({seconds:.1f} s)")
        result.sample_rows = 0 if self._sample is None else len(self._sample)
        return result

    def run_step(self, step: Step) -> pd.DataFrame:
        """The table ``step`` makes (its previous rows included when it appends)."""
        previous = existing_rows(self.session, step.relation) if step.appends else None
        dbt = FitDbt(step, self.ref, exists=previous is not None)
        try:
            frame = to_pandas(model_function(step)(dbt, self.session))
        except FitError:
            raise
        except Exception as error:
            raise FitError(f"model {step.name} ({step.path}) failed: {error}") from error
        if previous is None:
            return frame
        return appended(previous, frame, step.name)

    # -- inputs ----------------------------------------------------------------------------

    def ref(self, name: str) -> pd.DataFrame:
        """What ``dbt.ref(name)`` gives a model in this run (see the module doc)."""
        if name in self.made:
            return self.made[name].copy()
        if name == FEATURES_MODEL:
            return self.sample().copy()
        if name == ASSIGNMENTS_MODEL:
            return self.sample_assignments()
        relation = self.input_relation(name)
        return self.read(self.input_query(relation), relation)

    def sample(self) -> pd.DataFrame:
        """The fit sample of the features (read once)."""
        if self._sample is None:
            relation = self.input_relation(FEATURES_MODEL)
            query = sample_query(relation.name, self.sample_size, self.warehouse.engine)
            self._sample = self.read(query, relation)
            self.echo(
                f"  fit sample: {len(self._sample)} customers of {relation}"
                f" (at most {self.sample_size})"
            )
        return self._sample

    def sample_assignments(self) -> pd.DataFrame:
        """The sampled customers scored with the kept model made in this run."""
        needed = ("ml_feature_transform_params", "ml_segment_representatives", "ml_segment_model")
        missing = [name for name in needed if name not in self.made]
        if missing:
            raise FitError(
                f"{ASSIGNMENTS_MODEL} is needed before the kept model's tables {missing} are made"
            )
        return scoring.assignments(self.sample(), *(self.made[name] for name in needed))

    def input_relation(self, name: str) -> Relation:
        try:
            return self.plan.inputs[name]
        except KeyError:
            raise FitError(f"no model of the plan refs {name}") from None

    def input_query(self, relation: Relation) -> str:
        """All rows of a small table; a per-customer table's rows of the sampled customers."""
        columns = self.read(f"select * from {relation} where 1 = 0", relation).columns
        if KEY_COLUMN not in columns:
            return f"select * from {relation}"
        features = self.input_relation(FEATURES_MODEL)
        sample = sample_query(features.name, self.sample_size, self.warehouse.engine)
        return restricted_query(relation.name, sample)

    def read(self, query: str, relation: Relation) -> pd.DataFrame:
        try:
            return self.warehouse.query(query)
        except Exception as error:
            raise FitError(
                f"cannot read {relation} from the {self.warehouse.engine} warehouse ({error});"
                " build the fit's inputs first (segmentation fit-model --build-inputs)"
            ) from error


def model_function(step: Step) -> Callable[[Any, Any], Any]:
    """The ``model`` function of a Python model's code."""
    namespace: dict[str, Any] = {"__name__": f"fit_model_{step.name}"}
    try:
        exec(compile(step.code, step.path or step.name, "exec"), namespace)  # noqa: S102
    except Exception as error:
        raise FitError(f"model {step.name} ({step.path}) cannot be loaded: {error}") from error
    function = namespace.get("model")
    if not callable(function):
        raise FitError(f"model {step.name} ({step.path}) defines no model(dbt, session)")
    return function


def appended(previous: pd.DataFrame, new: pd.DataFrame, table: str) -> pd.DataFrame:
    """The rows of an appending model's table after this run: the previous ones, then the new
    ones, in the table's column types."""
    if table not in SCHEMAS:
        return pd.concat([previous, new], ignore_index=True)
    parts = [conform(part, table) for part in (previous, new) if len(part)]
    return conform(pd.concat(parts, ignore_index=True), table) if parts else conform(new, table)

"""The same-work floor: the customer features as one hand-written DuckDB query, and its check.

``same_work_floor.sql`` (package data beside this module) computes from the raw log every row
and column of ``marts.fct_customer_features`` for the default vars, applying every rule of the
dbt feature chain (trimming, the duplicate rule, non-product codes, cancellation netting, the
as-of date) in one query of CTEs, with nothing persisted. It is the least work that gives the
product's features, so the chain's time is compared with it (``report.py``).

A floor that computed something else would make that ratio meaningless, so
:func:`compare_with_mart` checks it against the mart row for row (same customers, every column
equal, floats within a relative and absolute tolerance, NULL equal to NULL) and the benchmark
reports no ratio against it unless they agree (``runner.py``). The floor's inputs are
placeholders (:class:`FloorSources`, :class:`FloorSettings`): the warehouse's tables for the
check and the timed query, the Parquet log and the seed's CSV for the floor end to end.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import duckdb

from segmentation.config.segmentation import SegmentationSettings
from segmentation.config.varcheck import check_project_vars
from segmentation.io.dbt_commands import AS_OF_DATE_ENV_VAR

FLOOR_SQL_FILE = "same_work_floor.sql"
FEATURE_MART = "marts.fct_customer_features"
NON_PRODUCT_SEED = Path("seeds") / "non_product_stock_codes.csv"
# Floats are equal when within this much of each other, relatively or absolutely.
RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-9
# Customers shown for each difference.
EXAMPLES = 3
# The one value of the var engagement_feature_role whose mart the floor reproduces.
DESCRIBE_ROLE = "describe"
_FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL", "DECIMAL")


class FloorSettingsError(ValueError):
    """The vars ask for features the floor does not compute, or are not valid."""


class FloorMismatch(RuntimeError):
    """The floor's rows differ from the mart's (the message names columns and customers)."""


@dataclass(frozen=True)
class FloorSettings:
    """The vars of the feature chain that the floor takes as parameters."""

    as_of_date: dt.date | None = None  # None: the day after the log's last invoice
    evening_start_hour: int = 18

    @classmethod
    def from_project(
        cls,
        project_dir: Path,
        dbt_vars: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> FloorSettings:
        """The settings of a build of ``project_dir`` with ``--vars dbt_vars``: the vars' values
        (defaults from dbt_project.yml), the as-of date from ``SEGMENTS_AS_OF_DATE`` when the
        var is empty, as the macro ``as_of_date_setting`` reads it."""
        report = check_project_vars(project_dir, dbt_vars)
        if not report.ok:
            raise FloorSettingsError("; ".join(report.errors))
        values = report.values
        if values.get("engagement_feature_role", DESCRIBE_ROLE) != DESCRIBE_ROLE:
            raise FloorSettingsError(
                "the same-work floor computes the features of engagement_feature_role "
                f"{DESCRIBE_ROLE!r} only, got {values['engagement_feature_role']!r}"
            )
        settings = SegmentationSettings.from_mapping(values.get("segmentation"))
        if settings.preparation.categorical_attributes:
            raise FloorSettingsError(
                "the same-work floor computes the features without attribute columns; "
                "segmentation.categorical_attributes adds them"
            )
        environ = os.environ if environ is None else environ
        as_of = values.get("as_of_date") or environ.get(AS_OF_DATE_ENV_VAR, "").strip()
        return cls(
            as_of_date=_as_date(as_of) if as_of else None,
            evening_start_hour=int(values["evening_start_hour"]),
        )


def _as_date(value: Any) -> dt.date:
    """A date from the var (YAML may already have read it as one) or the environment."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as error:
        raise FloorSettingsError(f"the as-of date must be YYYY-MM-DD, got {value!r}") from error


@dataclass(frozen=True)
class FloorSources:
    """The relations the floor reads: the raw log, the non-product codes, the capabilities."""

    transactions: str
    non_product_stock_codes: str
    input_capabilities: str

    @classmethod
    def warehouse(cls) -> FloorSources:
        """The tables a dbt build reads: the loaded log, the seeded codes, the load's record of
        which optional inputs the log has."""
        return cls(
            transactions="raw.transactions",
            non_product_stock_codes="reference.non_product_stock_codes",
            input_capabilities="raw.input_capabilities",
        )

    @classmethod
    def log_file(cls, log_path: Path, project_dir: Path) -> FloorSources:
        """A Parquet log with the contract's columns, numbered as ``segmentation load`` numbers
        it (one file, rows from 1), the seed's CSV and every optional input present."""
        log = _quoted(log_path)
        return cls(
            transactions=(
                f"(select *, {log} as source_file, file_row_number + 1 as source_row "
                f"from read_parquet({log}, file_row_number = true))"
            ),
            non_product_stock_codes=(
                f"read_csv({_quoted(project_dir / NON_PRODUCT_SEED)}, header = true, "
                "all_varchar = true)"
            ),
            input_capabilities=(
                "(select cast(null as varchar) as capability, "
                "cast(null as boolean) as is_available limit 0)"
            ),
        )


def _quoted(path: Path) -> str:
    """A path as a SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def floor_template() -> str:
    """The floor's SQL with its ``$placeholders`` (the file's header says what each means)."""
    return resources.files(__package__).joinpath(FLOOR_SQL_FILE).read_text(encoding="utf-8")


def floor_sql(sources: FloorSources, settings: FloorSettings, template: str | None = None) -> str:
    """The floor's query over ``sources`` with ``settings`` (``template``: another version of
    the SQL, e.g. a deliberately changed one in a test)."""
    as_of = settings.as_of_date
    return Template(floor_template() if template is None else template).substitute(
        transactions=sources.transactions,
        non_product_stock_codes=sources.non_product_stock_codes,
        input_capabilities=sources.input_capabilities,
        as_of_date=f"date '{as_of.isoformat()}'" if as_of else "cast(null as date)",
        evening_start_hour=str(int(settings.evening_start_hour)),
    )


# -- the check -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One way the floor and the mart differ: a column (or the columns, or the customer set),
    for how many customers, and the first few of them with both values."""

    column: str
    customers: int
    examples: tuple[tuple[Any, Any, Any], ...] = ()  # (customer_id, floor value, mart value)
    detail: str = ""  # instead of counts: what differs (the column list)

    def describe(self) -> str:
        """One line: what differs, for how many customers, with examples."""
        if self.detail:
            return f"{self.column}: {self.detail}"
        shown = "; ".join(
            f"customer {customer!r}: floor {_shown(floor)}, mart {_shown(mart)}"
            for customer, floor, mart in self.examples
        )
        counted = f"{self.customers:,} customer{'' if self.customers == 1 else 's'}"
        return f"{self.column}: {counted}" + (f" ({shown})" if shown else "")


def _shown(value: Any) -> str:
    """A value as the message shows it: text quoted, NULL as NULL, the rest as written."""
    if value is None:
        return "NULL"
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class FloorComparison:
    """The floor against the mart: the customers compared and every difference found."""

    floor_customers: int
    mart_customers: int
    differences: tuple[Difference, ...]
    mart: str = FEATURE_MART

    @property
    def ok(self) -> bool:
        return not self.differences

    def message(self) -> str:
        """What the check found, one difference a line."""
        if self.ok:
            return f"the same-work floor equals {self.mart} ({self.mart_customers:,} customers)"
        lines = [
            f"the same-work floor differs from {self.mart} (floor {self.floor_customers:,} "
            f"customers, mart {self.mart_customers:,}):"
        ]
        return "\n".join(lines + [f"- {d.describe()}" for d in self.differences])

    def columns(self) -> list[str]:
        """The columns (or ``customer set``, ``column list``) that differ."""
        return [d.column for d in self.differences]


def compare_with_mart(
    con: duckdb.DuckDBPyConnection,
    floor: str,
    mart: str = FEATURE_MART,
    examples: int = EXAMPLES,
) -> FloorComparison:
    """Compare the floor's rows (``floor``: a table or a parenthesised query) with ``mart`` by
    customer_id: the same column names, types and order, the same customers, each once, and
    every column equal (floats within the tolerances, NULL equal to NULL)."""
    floor_columns = _columns(con, floor)
    mart_columns = _columns(con, mart)
    differences = _column_list_differences(floor_columns, mart_columns)
    shared = [(name, kind) for name, kind in mart_columns if name in dict(floor_columns)]
    con.execute(f"create or replace temp table floor_vs_mart as {_joined_sql(floor, mart, shared)}")
    try:
        floor_customers, mart_customers = con.execute(
            f"select (select count(*) from {floor}), (select count(*) from {mart})"
        ).fetchall()[0]
        differences += _repeated_ids(con, floor, mart)
        differences += _customer_set_differences(con, examples)
        for name, kind in shared:
            if name != "customer_id":
                differences += _value_differences(con, name, kind, examples)
    finally:
        con.execute("drop table if exists floor_vs_mart")
    return FloorComparison(int(floor_customers), int(mart_customers), tuple(differences), mart)


def check_floor_equals_mart(
    con: duckdb.DuckDBPyConnection, floor: str, mart: str = FEATURE_MART
) -> FloorComparison:
    """:func:`compare_with_mart`, raising :class:`FloorMismatch` when they differ."""
    comparison = compare_with_mart(con, floor, mart)
    if not comparison.ok:
        raise FloorMismatch(comparison.message())
    return comparison


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    """(name, type) of every column of ``relation``, in order."""
    described = con.execute(f"describe select * from {relation}").fetchall()
    return [(row[0], row[1]) for row in described]


def _column_list_differences(
    floor: list[tuple[str, str]], mart: list[tuple[str, str]]
) -> list[Difference]:
    """A difference naming the columns missing, extra, of another type or out of order."""
    if floor == mart:
        return []
    floor_types, mart_types = dict(floor), dict(mart)
    problems = [f"{name} missing" for name in mart_types if name not in floor_types]
    problems += [f"{name} not in the mart" for name in floor_types if name not in mart_types]
    problems += [
        f"{name} is {floor_types[name]}, not {kind}"
        for name, kind in mart_types.items()
        if name in floor_types and floor_types[name] != kind
    ]
    if not problems:
        problems = ["the same columns in another order"]
    return [Difference("column list", 0, detail="; ".join(problems))]


def _joined_sql(floor: str, mart: str, columns: list[tuple[str, str]]) -> str:
    """Floor and mart rows side by side by customer_id (a full outer join)."""
    pairs = ", ".join(
        f"floor_rows.{name} as floor__{name}, mart_rows.{name} as mart__{name}"
        for name, _ in columns
    )
    return f"""
        select
            coalesce(floor_rows.customer_id, mart_rows.customer_id) as customer_id,
            floor_rows.customer_id is not null as in_floor,
            mart_rows.customer_id is not null as in_mart,
            {pairs}
        from {floor} as floor_rows
        full outer join {mart} as mart_rows on floor_rows.customer_id = mart_rows.customer_id
    """


def _repeated_ids(con: duckdb.DuckDBPyConnection, floor: str, mart: str) -> list[Difference]:
    """A difference for each side whose customer_id is not unique."""
    found = []
    for side, relation in (("floor", floor), ("mart", mart)):
        repeated = con.execute(
            f"select count(*) - count(distinct customer_id) from {relation}"
        ).fetchall()[0][0]
        if repeated:
            found.append(Difference(f"customer_id repeated in the {side}", int(repeated)))
    return found


def _customer_set_differences(con: duckdb.DuckDBPyConnection, examples: int) -> list[Difference]:
    """Customers with a row on one side only (examples show which side has the row)."""
    found = []
    for side, where, values in (
        ("floor", "not in_mart", ("a row", "no row")),
        ("mart", "not in_floor", ("no row", "a row")),
    ):
        count, ids = con.execute(
            f"select count(*), list(customer_id order by customer_id)[1:{int(examples)}] "
            f"from floor_vs_mart where {where}"
        ).fetchall()[0]
        if count:
            shown = tuple((customer, *values) for customer in ids)
            found.append(Difference(f"customer set (only in the {side})", int(count), shown))
    return found


def _differs_sql(name: str, kind: str) -> str:
    """A condition true where the floor's and the mart's value of ``name`` differ."""
    floor, mart = f"floor__{name}", f"mart__{name}"
    if not kind.upper().startswith(_FLOAT_TYPES):
        return f"{floor} is distinct from {mart}"
    close = (
        f"abs({floor} - {mart}) <= greatest({ABSOLUTE_TOLERANCE!r}, "
        f"{RELATIVE_TOLERANCE!r} * greatest(abs({floor}), abs({mart})))"
    )
    return f"not coalesce({floor} is not distinct from {mart} or {close}, false)"


def _value_differences(
    con: duckdb.DuckDBPyConnection, name: str, kind: str, examples: int
) -> list[Difference]:
    """The customers of both sides whose value of column ``name`` differs."""
    where = f"in_floor and in_mart and {_differs_sql(name, kind)}"
    count = con.execute(f"select count(*) from floor_vs_mart where {where}").fetchall()[0][0]
    if not count:
        return []
    rows = con.execute(
        f"select customer_id, floor__{name}, mart__{name} from floor_vs_mart where {where} "
        f"order by customer_id limit {int(examples)}"
    ).fetchall()
    return [Difference(name, int(count), tuple(tuple(row) for row in rows))]

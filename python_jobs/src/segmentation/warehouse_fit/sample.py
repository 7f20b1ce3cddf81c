"""The bounded, deterministic sample of customers the fit reads.

At most ``size`` customers of ``fct_customer_features``, chosen by the MD5 digest of their id
(ties, which would need two ids with one digest, by the id itself): a rule every engine computes
the same way (``md5`` of the id as text is the same hexadecimal string on DuckDB, PostgreSQL and
Spark), so every engine reads the same customers, and the same ones on every run while they
are there. The warehouse sorts and cuts; the client receives ``size`` rows at most, whatever the
table holds. When the table holds no more than ``size`` customers the sample is all of them,
and the fit equals the one dbt's Python models make on DuckDB.

Rows are delivered in customer id order so the fit does not depend on the order the engine
returns them in (the engine's own code sorts again; this keeps the frames equal across engines).
"""

from __future__ import annotations

import re

KEY_COLUMN = "customer_id"
# The text type each engine casts the id to before hashing it.
TEXT_TYPES: dict[str, str] = {"duckdb": "varchar", "postgres": "text", "spark": "string"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")


def sample_query(relation: str, size: int, engine: str, key: str = KEY_COLUMN) -> str:
    """``select`` of at most ``size`` rows of ``relation``, chosen by the digest of ``key``."""
    _check_identifier(relation)
    _check_identifier(key)
    if size < 1:
        raise ValueError(f"the fit sample size must be at least 1, got {size}")
    digest = f"md5(cast({key} as {text_type(engine)}))"
    return (
        f"select * from (select * from {relation} order by {digest}, {key} limit {int(size)})"
        f" as fit_sample order by {key}"
    )


def restricted_query(relation: str, sample: str, key: str = KEY_COLUMN) -> str:
    """Rows of ``relation`` (another per-customer table) for the customers of ``sample``."""
    _check_identifier(relation)
    _check_identifier(key)
    return (
        f"select t.* from {relation} as t"
        f" inner join (select {key} from ({sample}) as s) as fit_keys on t.{key} = fit_keys.{key}"
        f" order by t.{key}"
    )


def text_type(engine: str) -> str:
    """The engine's name for text (a ``ValueError`` names the engines known)."""
    try:
        return TEXT_TYPES[engine]
    except KeyError:
        raise ValueError(
            f"no fit sample rule for engine {engine!r} (known: {', '.join(sorted(TEXT_TYPES))})"
        ) from None


def _check_identifier(name: str) -> None:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not a plain (schema.)table or column name")

"""Order-independent digests of the tables a build leaves in a DuckDB warehouse.

Two builds hold the same rows when, table by table, they have the same row count, the same
columns with the same types, and the same multiset of rows. `digest` summarises a warehouse in a
small JSON-able dict; `compare` lists what differs between two such summaries, so a change that
must not alter any result (moving modules or models around) can be checked against a digest
taken before it.

How a row is digested:

* every value becomes canonical text in SQL: floating-point values are rounded to
  `SIGNIFICANT_BITS` significant bits (magnitudes below `ZERO_BELOW` count as zero, and -0.0
  as 0), so last-bit noise does not count; other types use their exact text form; NULL stays
  distinct from every value, the empty string included;
* the rounding is binary, not decimal: money values such as 12.345 or averages ending in 5 sit
  exactly on decimal rounding boundaries, where a last-bit difference flips the rounded digit;
  on a binary grid short values (0.5, 444.5) are grid points and other values land on a
  boundary only by chance. 24 bits (about 7 decimal digits) gave no flip between two builds
  of the demo or of the real log, while the noise reached the 32nd bit of some values; float
  columns inside volatile text get the same rule;
* a row is the JSON list of its canonical values in column-name order (column order alone does
  not change the digest; `compare` reports it separately);
* the MD5 of each row, read as two 64-bit numbers, is summed over the table (modulo 2**64 each):
  a sum does not depend on row order and, unlike XOR, counts duplicate rows;
* the same is done per column, so `compare` can name the columns that differ.

MD5 (unlike DuckDB's `hash()`) is the same in every DuckDB version, so digests taken with
different DuckDB releases still compare. Columns listed in `VOLATILE_COLUMNS` are left out of
the digests or canonicalised as said there (they are still listed with their types).

The command line is ``segmentation digest`` (:mod:`segmentation.cli.digest`).
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

DEFAULT_SCHEMAS: tuple[str, ...] = ("marts", "ml", "monitoring", "reporting")
FORMAT_VERSION = 1
SIGNIFICANT_BITS = 24
ZERO_BELOW = 1e-12
FLOAT_TYPES = frozenset({"DOUBLE", "FLOAT", "REAL", "FLOAT4", "FLOAT8"})

# How a volatile column enters the digest.
EXCLUDE = "exclude"  # left out
MASK_VERSION_HASH = "mask-version-hash"  # model version ids with their content hash masked
ROUND_TEXT_NUMBERS = "round-text-numbers"  # text holding full-precision numbers, see float_text

# Columns whose values legitimately differ between two builds of the same commit on the same
# data: (`schema.table.column` pattern in fnmatch syntax, treatment); the first match counts.
# Found by building one commit twice into two fresh warehouses, on the demo and on the real
# Online Retail log, and listing per table the columns whose values differed. Every other
# column was identical in both builds up to SIGNIFICANT_BITS. Background: DuckDB sums floats
# in parallel, so money sums and the features built on them differ in the last bit or two
# (relative 1e-16..1e-15) from build to build; the Python models fit on those features and
# carry the noise on.
VOLATILE_COLUMNS: tuple[tuple[str, str], ...] = (
    # Wall-clock time of the registry step (one row per build), and its copy for monitoring.
    ("ml.ml_registry_runs.created_at", EXCLUDE),
    ("monitoring.mon_scoring_runs.created_at", EXCLUDE),
    # Seconds each candidate took to fit and to score.
    ("ml.ml_model_candidates.fit_seconds", EXCLUDE),
    ("ml.ml_model_candidates.score_seconds", EXCLUDE),
    # Model version ids end in a hash of the fitted parameters at full precision (engine/fit.py
    # _version_id), so float noise changes it: the hash is masked, the version
    # number, as-of date and algorithm still count. Seen in every table with model_version_id;
    # previous_/incumbent_model_version_id hold the same ids (NULL in a first build).
    ("*.*.*model_version_id", MASK_VERSION_HASH),
    # Hash of the model version id and the evaluation settings (evaluation/inputs.py); the
    # settings themselves are in ml_segment_evaluation.evaluation_settings_json.
    ("ml.*.evaluation_key", EXCLUDE),
    # Text holding full-precision floats: the scaling step as SQL (the mean and standard
    # deviation printed with repr), candidate parameters as JSON (DBSCAN's eps, derived from
    # distances), and the whole fitted model as JSON (it also holds the durations and version
    # ids above). Seen in ml_feature_transform_params, ml_registry_transform_params,
    # ml_model_candidates and ml_registry_runs; ml_model_registry/ml_segment_model.parameters
    # copy the kept candidate's parameters (no floats for K-Means, eps for DBSCAN).
    ("ml.*.sql_expression", ROUND_TEXT_NUMBERS),
    ("ml.*.parameters", ROUND_TEXT_NUMBERS),
    ("ml.ml_registry_runs.model_json", ROUND_TEXT_NUMBERS),
)

# Keys of JSON documents (in ROUND_TEXT_NUMBERS columns) dropped as volatile: the candidates'
# durations inside ml_registry_runs.model_json.
VOLATILE_JSON_KEYS = frozenset({"fit_seconds", "score_seconds"})

VERSION_HASH = re.compile(r"\b(v\d{4}-(?:\d{4}-\d{2}-\d{2}|undated)-[a-z0-9_]+)-[0-9a-f]{8}\b")
TEXT_NUMBER = re.compile(
    r"(?<![\w.])-?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])"
    r"|(?<![\w.])-?\d+[eE][-+]?\d+(?![\w.])"
)


def quote(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def treatment_of(
    qualified_column: str, volatile: Sequence[tuple[str, str]] = VOLATILE_COLUMNS
) -> str | None:
    """The treatment of `schema.table.column` (None: digested as it is)."""
    for pattern, treatment in volatile:
        if fnmatch.fnmatchcase(qualified_column, pattern):
            return treatment
    return None


def round_number(value: float, bits: int = SIGNIFICANT_BITS) -> str:
    """A float's canonical text (the same rule as canonical_sql applies in SQL).

    The value is rounded to `bits` significant bits (half away from zero) and printed with 17
    significant digits, which shows the rounded double exactly.
    """
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if abs(value) < ZERO_BELOW:
        return "0"
    exponent = math.frexp(value)[1] - 1
    quantum = 2.0 ** (exponent - (bits - 1))
    steps = value / quantum
    rounded = math.copysign(math.floor(abs(steps) + 0.5), steps) * quantum
    return f"{rounded:.17g}"


def mask_version_hashes(text: str) -> str:
    """Model version ids with their trailing content hash replaced by `<hash>`."""
    return VERSION_HASH.sub(r"\1-<hash>", text)


def round_text_numbers(text: str, bits: int = SIGNIFICANT_BITS) -> str:
    """Text with version hashes masked and every decimal number rounded."""
    masked = mask_version_hashes(text)
    return TEXT_NUMBER.sub(lambda m: round_number(float(m.group()), bits), masked)


def _canonical_json(value: Any, bits: int) -> Any:
    if isinstance(value, dict):
        return {
            key: _canonical_json(item, bits)
            for key, item in value.items()
            if key not in VOLATILE_JSON_KEYS
        }
    if isinstance(value, list):
        return [_canonical_json(item, bits) for item in value]
    if isinstance(value, float):
        return round_number(value, bits)
    if isinstance(value, str):
        return round_text_numbers(value, bits)
    return value


def float_text(text: str, bits: int = SIGNIFICANT_BITS) -> str:
    """Canonical form of text holding full-precision numbers.

    A JSON object or array is parsed: keys in VOLATILE_JSON_KEYS are dropped, floats rounded,
    strings treated like plain text, keys sorted. Plain text gets round_text_numbers.
    """
    if text.lstrip()[:1] in ("{", "["):
        try:
            document = json.loads(text)
        except ValueError:
            pass
        else:
            canonical = _canonical_json(document, bits)
            return json.dumps(canonical, sort_keys=True, ensure_ascii=False)
    return round_text_numbers(text, bits)


def register_functions(con: duckdb.DuckDBPyConnection, bits: int) -> None:
    """The canonicalisers as SQL functions and macros of this connection."""
    # Exponent e of a positive double (2**e <= a < 2**(e + 1)); log2 alone can be one off
    # just below a power of two.
    con.execute(
        "CREATE OR REPLACE TEMP MACRO td_exponent(a) AS floor(log2(a))"
        " - (pow(2.0, floor(log2(a))) > a)::INTEGER"
        " + (pow(2.0, floor(log2(a)) + 1) <= a)::INTEGER"
    )
    con.execute(
        "CREATE OR REPLACE TEMP MACRO td_round_bits(x, bits) AS"
        " round(x / pow(2.0, td_exponent(abs(x)) - (bits - 1)))"
        " * pow(2.0, td_exponent(abs(x)) - (bits - 1))"
    )
    con.create_function("td_mask_version_hashes", mask_version_hashes, ["VARCHAR"], "VARCHAR")
    con.create_function(
        "td_float_text", lambda text: float_text(text, bits), ["VARCHAR"], "VARCHAR"
    )


def canonical_sql(
    column: str, data_type: str, bits: int = SIGNIFICANT_BITS, treatment: str | None = None
) -> str:
    """SQL giving the canonical text of one column's value (NULL stays NULL)."""
    ref = quote(column)
    if treatment == MASK_VERSION_HASH:
        return f"td_mask_version_hashes({ref}::VARCHAR)"
    if treatment == ROUND_TEXT_NUMBERS:
        return f"td_float_text({ref}::VARCHAR)"
    if data_type.upper() in FLOAT_TYPES:
        value = f"{ref}::DOUBLE"
        return (
            f"CASE WHEN {ref} IS NULL THEN NULL"
            f" WHEN isnan({value}) THEN 'nan'"
            f" WHEN isinf({value}) THEN CASE WHEN {value} > 0 THEN 'inf' ELSE '-inf' END"
            f" WHEN abs({value}) < {ZERO_BELOW!r} THEN '0'"
            f" ELSE printf('%.17g', td_round_bits({value}, {int(bits)})) END"
        )
    return f"{ref}::VARCHAR"


def list_tables(con: duckdb.DuckDBPyConnection, schemas: Sequence[str]) -> list[tuple[str, str]]:
    """(schema, table) of every table and view in the given schemas, sorted."""
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_catalog = current_database() AND list_contains(?, table_schema)"
        " ORDER BY 1, 2",
        [list(schemas)],
    ).fetchall()
    return [(str(schema), str(table)) for schema, table in rows]


def list_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, type) of a table's columns in their order."""
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?"
        " ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return [(str(name), str(data_type)) for name, data_type in rows]


def _md5_sum_sql(md5_expression: str) -> list[str]:
    """Two aggregates summing an MD5's halves as unsigned 64-bit numbers."""
    return [
        f"coalesce(sum(('0x' || left({md5_expression}, 16))::UBIGINT), 0)::VARCHAR",
        f"coalesce(sum(('0x' || right({md5_expression}, 16))::UBIGINT), 0)::VARCHAR",
    ]


def _hex_digest(high: str, low: str) -> str:
    """A 32-hex-digit digest from the two sums (each taken modulo 2**64)."""
    return f"{int(high) % 2**64:016x}{int(low) % 2**64:016x}"


def digested_columns(
    schema: str,
    table: str,
    columns: Sequence[tuple[str, str]],
    volatile: Sequence[tuple[str, str]] = VOLATILE_COLUMNS,
    bits: int = SIGNIFICANT_BITS,
) -> list[tuple[str, str]]:
    """(name, canonical SQL) of the columns that enter the digest, in column-name order."""
    out = []
    for name, data_type in sorted(columns):
        treatment = treatment_of(f"{schema}.{table}.{name}", volatile)
        if treatment != EXCLUDE:
            out.append((name, canonical_sql(name, data_type, bits, treatment)))
    return out


def canonical_row_sql(digested: Sequence[tuple[str, str]]) -> str:
    """SQL giving a row's canonical text: the JSON list of its canonical values."""
    parts = [sql for _, sql in digested]
    return f"to_json([{', '.join(parts)}]::VARCHAR[])" if parts else "'[]'"


def table_digest(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    volatile: Sequence[tuple[str, str]] = VOLATILE_COLUMNS,
    bits: int = SIGNIFICANT_BITS,
) -> dict[str, Any]:
    """Row count, columns and digests (whole rows and per column) of one table.

    The connection needs register_functions (digest does it).
    """
    columns = list_columns(con, schema, table)
    digested = digested_columns(schema, table, columns, volatile, bits)
    inner = [f"md5({canonical_row_sql(digested)}) AS h_row"]
    inner += [f"md5(coalesce('V' || ({sql}), 'N')) AS h_{i}" for i, (_, sql) in enumerate(digested)]
    outer = ["count(*)::VARCHAR", *_md5_sum_sql("h_row")]
    for i in range(len(digested)):
        outer += _md5_sum_sql(f"h_{i}")
    sql = (
        f"SELECT {', '.join(outer)} FROM"
        f" (SELECT {', '.join(inner)} FROM {quote(schema)}.{quote(table)})"
    )
    result = con.execute(sql).fetchone()
    assert result is not None
    values = [str(v) for v in result]
    column_digests = {
        name: _hex_digest(values[3 + 2 * i], values[4 + 2 * i])
        for i, (name, _) in enumerate(digested)
    }
    treatments = {
        name: treatment
        for name, _ in columns
        if (treatment := treatment_of(f"{schema}.{table}.{name}", volatile)) is not None
    }
    return {
        "rows": int(values[0]),
        "columns": [[name, data_type] for name, data_type in columns],
        "volatile_columns": dict(sorted(treatments.items())),
        "digest": _hex_digest(values[1], values[2]),
        "column_digests": column_digests,
    }


def digest(
    database: Path,
    schemas: Sequence[str] = DEFAULT_SCHEMAS,
    volatile: Sequence[tuple[str, str]] = VOLATILE_COLUMNS,
    bits: int = SIGNIFICANT_BITS,
) -> dict[str, Any]:
    """Digest of every table in `schemas` of a DuckDB file (opened read-only)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        register_functions(con, bits)
        tables = {
            f"{schema}.{table}": table_digest(con, schema, table, volatile, bits)
            for schema, table in list_tables(con, schemas)
        }
    finally:
        con.close()
    return {
        "format_version": FORMAT_VERSION,
        "database": str(database),
        "duckdb_version": duckdb.__version__,
        "settings": {
            "schemas": list(schemas),
            "significant_bits": bits,
            "zero_below": ZERO_BELOW,
            "volatile_columns": [list(entry) for entry in volatile],
            "volatile_json_keys": sorted(VOLATILE_JSON_KEYS),
        },
        "tables": tables,
    }


def _compare_settings(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Differences in how the two digests were taken (they would make digests differ)."""
    sa, sb = a.get("settings", {}), b.get("settings", {})
    return [
        f"setting {key} differs: A {sa.get(key)!r}, B {sb.get(key)!r}"
        for key in sorted(set(sa) | set(sb))
        if sa.get(key) != sb.get(key)
    ]


def _compare_columns(name: str, ta: dict[str, Any], tb: dict[str, Any]) -> list[str]:
    """Column set, type and order differences of one table."""
    ca = {c: t for c, t in ta["columns"]}
    cb = {c: t for c, t in tb["columns"]}
    out = []
    if missing := sorted(set(ca) - set(cb)):
        out.append(f"{name}: columns missing in B: {', '.join(missing)}")
    if extra := sorted(set(cb) - set(ca)):
        out.append(f"{name}: extra columns in B: {', '.join(extra)}")
    for column in sorted(set(ca) & set(cb)):
        if ca[column] != cb[column]:
            out.append(f"{name}.{column}: type {ca[column]} in A, {cb[column]} in B")
    order_a = [c for c, _ in ta["columns"] if c in cb]
    order_b = [c for c, _ in tb["columns"] if c in ca]
    if order_a != order_b:
        out.append(f"{name}: column order differs (A {order_a}, B {order_b})")
    return out


def _compare_table(name: str, ta: dict[str, Any], tb: dict[str, Any]) -> list[str]:
    """Every difference of one table present in both digests."""
    out = []
    if ta["rows"] != tb["rows"]:
        out.append(f"{name}: {ta['rows']} rows in A, {tb['rows']} in B")
    out += _compare_columns(name, ta, tb)
    if ta["digest"] != tb["digest"]:
        da, db = ta["column_digests"], tb["column_digests"]
        differing = sorted(c for c in set(da) & set(db) if da[c] != db[c])
        if differing:
            detail = f"values differ in {len(differing)} column(s): {', '.join(differing)}"
        elif set(da) == set(db):
            detail = "every column holds the same values, paired differently across rows"
        else:
            detail = "see the column differences above"
        out.append(f"{name}: rows differ ({detail})")
    return out


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Human-readable differences between two digests (A: before, B: after); empty if none."""
    out = _compare_settings(a, b)
    tables_a, tables_b = a["tables"], b["tables"]
    out += [f"table missing in B: {name}" for name in sorted(set(tables_a) - set(tables_b))]
    out += [f"extra table in B: {name}" for name in sorted(set(tables_b) - set(tables_a))]
    for name in sorted(set(tables_a) & set(tables_b)):
        out += _compare_table(name, tables_a[name], tables_b[name])
    return out


def differing_rows(
    database_a: Path,
    database_b: Path,
    qualified_table: str,
    limit: int = 20,
    volatile: Sequence[tuple[str, str]] = VOLATILE_COLUMNS,
    bits: int = SIGNIFICANT_BITS,
) -> tuple[list[str], list[str], list[str]]:
    """The digested columns of a table, and its canonical rows only in A and only in B.

    Rows are compared as multisets; at most `limit` of each side are returned. Each row is the
    JSON list of its canonical values in the order of the digested columns (column-name order,
    columns excluded as volatile left out; names as in B).
    """
    schema, table = qualified_table.split(".", 1)
    con = duckdb.connect()
    try:
        register_functions(con, bits)
        selects, names = [], []
        for alias, path in (("db_a", database_a), ("db_b", database_b)):
            con.execute(f"ATTACH {_sql_string(str(path))} AS {alias} (READ_ONLY)")
            con.execute(f"USE {alias}")
            columns = list_columns(con, schema, table)
            digested = digested_columns(schema, table, columns, volatile, bits)
            names = [name for name, _ in digested]
            selects.append(
                f"SELECT {canonical_row_sql(digested)} AS r"
                f" FROM {alias}.{quote(schema)}.{quote(table)}"
            )
        con.execute("USE memory")
        only = []
        for first, second in (selects, selects[::-1]):
            sql = f"SELECT r FROM ({first} EXCEPT ALL {second}) ORDER BY r LIMIT {int(limit)}"
            only.append([str(row[0]) for row in con.execute(sql).fetchall()])
    finally:
        con.close()
    return names, only[0], only[1]


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"

"""`segmentation publish`: after a passing `dbt build`, replace the BI serving copy atomically."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from segmentation.io.warehouse import (
    DEFAULT_SERVING_DATABASE,
    SERVING_ENV_VAR,
    database_path,
    serving_path,
)
from segmentation.publish.serving import (
    DEFAULT_ID_COLUMNS,
    DEFAULT_SCHEMAS,
    DEFAULT_WITHHELD_COLUMNS,
    PARQUET_DIR_ENV,
    PSEUDONYM_KEY_ENV,
    PublishRefused,
    PublishResult,
    PublishSpec,
    check_build,
    pseudonym_key,
    publish,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database",
        type=Path,
        default=None,
        help="warehouse file (default: $SEGMENTS_DUCKDB_PATH)",
    )
    parser.add_argument(
        "--serving",
        type=Path,
        default=None,
        help=f"serving copy (default: ${SERVING_ENV_VAR} or {DEFAULT_SERVING_DATABASE})",
    )
    parser.add_argument(
        "--parquet-dir",
        type=Path,
        default=None,
        help=f"also export Parquet files behind this link (default: ${PARQUET_DIR_ENV}, or none)",
    )
    parser.add_argument(
        "--schemas",
        default=",".join(DEFAULT_SCHEMAS),
        help="comma-separated schemas whose every table is published (default: %(default)s)",
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="SCHEMA.TABLE",
        help="also publish this table (repeatable)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="leave out tables matching this schema.table pattern, e.g. 'monitoring.*_debug'",
    )
    parser.add_argument(
        "--id-column",
        action="append",
        default=None,
        metavar="NAME",
        help=f"column pseudonymised when a key is set (repeatable; default: {DEFAULT_ID_COLUMNS})",
    )
    parser.add_argument(
        "--publish-column",
        action="append",
        default=[],
        metavar="NAME",
        help=f"publish this free-text column although it is withheld by default "
        f"{DEFAULT_WITHHELD_COLUMNS}",
    )
    parser.add_argument(
        "--withhold-column",
        action="append",
        default=[],
        metavar="NAME",
        help="also leave this column out of every table (repeatable)",
    )
    parser.add_argument(
        "--pseudonymise",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"replace customer ids by keyed hashes (default: when ${PSEUDONYM_KEY_ENV} is set)",
    )
    parser.add_argument(
        "--target-path",
        type=Path,
        default=Path(os.environ.get("DBT_TARGET_PATH") or "target"),
        help="dbt target folder holding run_results.json (default: $DBT_TARGET_PATH or target)",
    )
    parser.add_argument(
        "--log-path",
        type=Path,
        default=Path(os.environ.get("DBT_LOG_PATH") or "logs"),
        help="dbt log folder holding dbt.log (default: $DBT_LOG_PATH or logs)",
    )


def run(args: argparse.Namespace) -> int:
    source = args.database or database_path()
    serving = args.serving or serving_path()
    parquet_dir = args.parquet_dir or (
        Path(os.environ[PARQUET_DIR_ENV]) if os.environ.get(PARQUET_DIR_ENV) else None
    )
    try:
        key = _key(args.pseudonymise)
        build = check_build(args.target_path / "run_results.json", args.log_path)
        spec = PublishSpec(
            schemas=tuple(s.strip() for s in args.schemas.split(",") if s.strip()),
            include=tuple(args.include),
            exclude=tuple(args.exclude),
            id_columns=tuple(args.id_column or DEFAULT_ID_COLUMNS),
            withheld_columns=tuple(
                c
                for c in (*DEFAULT_WITHHELD_COLUMNS, *args.withhold_column)
                if c not in args.publish_column
            ),
        )
        result = publish(source, serving, spec, build=build, key=key, parquet_dir=parquet_dir)
    except PublishRefused as error:
        state = "was left as it was" if serving.exists() else "was not created"
        raise PublishRefused(f"{error}\nNot published: {serving} {state}.") from error
    print(_report(source, result, build.describe()))
    return 0


def _key(wanted: bool | None) -> bytes | None:
    if wanted is False:
        return None
    key = pseudonym_key()
    if wanted and key is None:
        raise PublishRefused(
            f"--pseudonymise needs a key in ${PSEUDONYM_KEY_ENV} (never commit it), e.g. export "
            f"{PSEUDONYM_KEY_ENV}=$(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return key


def _report(source: Path, result: PublishResult, build: str) -> str:
    width = max(len(f"{t.schema}.{t.name}") for t in result.tables)
    lines = [
        f"Published {len(result.tables)} tables ({result.rows:,} rows) from {source} "
        f"to {result.serving_path}",
        f"  from {build}",
    ]
    lines += [f"  {t.schema + '.' + t.name:<{width}}  {t.rows:>10,} rows" for t in result.tables]
    if result.pseudonymised:
        lines.append(f"customer ids: pseudonymised (HMAC-SHA256, key from ${PSEUDONYM_KEY_ENV})")
    else:
        lines.append(
            f"customer ids: as in the warehouse (set ${PSEUDONYM_KEY_ENV} to pseudonymise)"
        )
    withheld = sorted({f"{t.name}.{c}" for t in result.tables for c in t.withheld})
    if withheld:
        lines.append(f"withheld free-text columns: {', '.join(withheld)}")
    if result.parquet_dir is not None:
        lines.append(f"Parquet files: {result.parquet_dir}/<schema>/<table>.parquet")
    lines.append(f"Connect read-only: duckdb -readonly {result.serving_path}")
    return "\n".join(lines)

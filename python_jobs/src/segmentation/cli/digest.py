"""``segmentation digest``: order-independent digests of a warehouse's tables, to show that a
change (an upgrade, a refactoring) alters no result.

    segmentation digest write WAREHOUSE.duckdb OUT.json
    segmentation digest compare BEFORE.json AFTER.json        # exit 1 on differences
    segmentation digest rows BEFORE.duckdb AFTER.duckdb SCHEMA.TABLE   # the differing rows
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from segmentation.io.digest import (
    DEFAULT_SCHEMAS,
    SIGNIFICANT_BITS,
    compare,
    differing_rows,
    digest,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    write = sub.add_parser("write", help="digest a warehouse into a JSON file")
    write.add_argument("database", type=Path)
    write.add_argument("output", type=Path)
    write.add_argument("--schemas", default=",".join(DEFAULT_SCHEMAS))
    write.add_argument("--bits", type=int, default=SIGNIFICANT_BITS)
    both = sub.add_parser("compare", help="compare two digests (exit 1 on differences)")
    both.add_argument("before", type=Path)
    both.add_argument("after", type=Path)
    rows = sub.add_parser("rows", help="print a table's rows found in only one warehouse")
    rows.add_argument("before", type=Path)
    rows.add_argument("after", type=Path)
    rows.add_argument("table", help="schema.table")
    rows.add_argument("--limit", type=int, default=20)
    rows.add_argument("--bits", type=int, default=SIGNIFICANT_BITS)


def run(args: argparse.Namespace) -> int:
    actions = {"write": _write, "compare": _compare, "rows": _rows}
    return actions[args.action](args)


def _write(args: argparse.Namespace) -> int:
    schemas = tuple(s.strip() for s in args.schemas.split(",") if s.strip())
    result = digest(args.database, schemas, bits=args.bits)
    args.output.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    rows = sum(t["rows"] for t in result["tables"].values())
    print(f"{args.output}: {len(result['tables'])} tables, {rows} rows")
    return 0


def _compare(args: argparse.Namespace) -> int:
    before = json.loads(args.before.read_text())
    after = json.loads(args.after.read_text())
    differences = compare(before, after)
    for line in differences:
        print(line)
    if differences:
        print(f"{len(differences)} difference(s)")
        return 1
    print(f"no differences: {len(before['tables'])} tables, the same rows")
    return 0


def _rows(args: argparse.Namespace) -> int:
    names, only_before, only_after = differing_rows(
        args.before, args.after, args.table, args.limit, bits=args.bits
    )
    print(f"columns: {', '.join(names)}")
    for label, found in (("only in BEFORE", only_before), ("only in AFTER", only_after)):
        print(f"{label} (at most {args.limit}): {len(found)}")
        for row in found:
            print(f"  {row}")
    return 1 if only_before or only_after else 0

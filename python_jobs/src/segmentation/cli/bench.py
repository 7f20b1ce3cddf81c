"""``segmentation bench``: measure the real pipeline on demo logs of several sizes.

For each size: a demo log written once as Parquet (cached in ``WORK/data``), a fresh warehouse
in ``WORK/run-<size>``, the pipeline stage by stage (load, SQL models, Python models, tests,
publish; see ``benchmark/pipeline.py``), the same-work floor (checked equal to the feature mart
before any ratio is reported against it) and the notebook baseline on the same data
(``benchmark/floor.py``, ``benchmark/references.py``) and the daily build that loads one more
day; with ``--inputs``, a full build of the same log with the demo's optional inputs too, in a
warehouse of its own. Wall time and the OS-measured peak memory of every stage are printed and
written to ``OUTPUT/bench_results.csv`` and ``OUTPUT/bench_results.md``.

Examples::

    segmentation bench                      # 1m, 10m and 50m lines (about half an hour)
    segmentation bench --sizes smoke --no-daily
    segmentation bench --sizes 10m,20000x25 --keep-warehouses
    segmentation bench --sizes 10m --inputs 10m   # also 10M with attributes and events

The big sizes need a quiet machine: the table records the load average when each run starts.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from segmentation.benchmark.data import (
    DEFAULT_SIZES,
    PRESETS,
    BenchSize,
    SizeError,
    parse_sizes,
)
from segmentation.benchmark.floor import FloorMismatch, FloorSettingsError
from segmentation.benchmark.inputs import InputsMismatch
from segmentation.benchmark.measure import StepFailed
from segmentation.benchmark.pipeline import PlanError
from segmentation.benchmark.runner import BenchOptions, run_benchmark
from segmentation.errors import JobError

DEFAULT_WORK_DIR = Path("warehouse/bench")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    presets = ", ".join(
        f"{name} ({c:,} customers x {m} months)" for name, (c, m) in PRESETS.items()
    )
    parser.add_argument(
        "--sizes",
        default=",".join(DEFAULT_SIZES),
        help=f"comma-separated sizes: presets {presets}, or CUSTOMERSxMONTHS (default %(default)s)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=DEFAULT_WORK_DIR,
        help="cached logs and the benchmark warehouses (default %(default)s); never the "
        "project's own warehouse",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="where bench_results.csv and bench_results.md go (default: the work dir)",
    )
    parser.add_argument("--seed", type=int, default=42, help="demo generator seed (default 42)")
    parser.add_argument(
        "--vars", default=None, help="dbt vars for every dbt invocation (YAML or JSON)"
    )
    parser.add_argument(
        "--no-daily",
        action="store_true",
        help="skip the daily build (one more day of data on the warehouse just built)",
    )
    parser.add_argument(
        "--no-references",
        action="store_true",
        help="skip the same-work floor (and its check against the mart) and the notebook",
    )
    parser.add_argument(
        "--inputs",
        default="",
        metavar="SIZES",
        help="comma-separated sizes (of --sizes) also built in full with the demo's optional "
        "inputs (customer attributes and engagement events of the same customers, loaded from "
        "files through their mappings), in a warehouse of their own (default: none)",
    )
    parser.add_argument(
        "--keep-warehouses",
        action="store_true",
        help="keep each size's warehouse and serving copy (default: deleted after the size)",
    )
    parser.add_argument(
        "--note",
        action="append",
        default=[],
        help="a line written above the Markdown table, e.g. the machine's load (repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        sizes = parse_sizes(args.sizes)
    except SizeError as error:
        raise JobError(str(error)) from None
    if args.seed < 0:
        raise JobError(f"--seed must be zero or positive, got {args.seed}")
    inputs = _input_sizes(args.inputs, sizes)
    repo_root = _project_root()
    work_dir = args.work_dir.resolve()
    options = BenchOptions(
        sizes=sizes,
        work_dir=work_dir,
        output_dir=(args.output_dir or args.work_dir).resolve(),
        repo_root=repo_root,
        seed=args.seed,
        dbt_vars=args.vars,
        daily=not args.no_daily,
        references=not args.no_references,
        keep_warehouses=args.keep_warehouses,
        notes=tuple(args.note),
        inputs=inputs,
    )
    try:
        result = run_benchmark(options)
    except (StepFailed, PlanError, FloorMismatch, FloorSettingsError, InputsMismatch) as error:
        raise JobError(str(error)) from None
    print()
    print(result.markdown_path.read_text(encoding="utf-8"))
    print(f"bench: wrote {result.csv_path} and {result.markdown_path}")
    return 0


def _input_sizes(text: str, sizes: list[BenchSize]) -> frozenset[str]:
    """The names of the sizes ``--inputs`` lists; each must be one of ``--sizes``."""
    if not text.strip():
        return frozenset()
    try:
        chosen = parse_sizes(text)
    except SizeError as error:
        raise JobError(f"--inputs: {error}") from None
    missing = [size.name for size in chosen if size not in sizes]
    if missing:
        raise JobError(
            f"--inputs names {', '.join(missing)}, which --sizes does not measure "
            f"({', '.join(size.name for size in sizes)})"
        )
    return frozenset(size.name for size in chosen)


def _project_root() -> Path:
    """The dbt project: the current folder or one of its parents holding dbt_project.yml."""
    here = Path(os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dbt_project.yml").exists():
            return folder
    raise JobError(f"no dbt_project.yml in {here} or its parents: run bench from the project")

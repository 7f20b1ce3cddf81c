"""``python -m segmentation.engines``: build the demo on DuckDB, PostgreSQL and Spark and compare.

Exit status: 0 when every engine builds, tests and matches DuckDB; 1 when something failed or
differs; 2 when an engine's software is missing (the message says what to install); 130 when
interrupted (Ctrl-C or SIGTERM), after stopping what it started.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from segmentation.engines.harness import ENGINES, Harness, Settings, missing_requirements


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m segmentation.engines", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help=f"comma-separated (default {','.join(ENGINES)})",
    )
    parser.add_argument("--customers", type=int, default=400, help="demo customers (default 400)")
    parser.add_argument("--months", type=int, default=25, help="demo months (default 25)")
    parser.add_argument(
        "--project", type=Path, default=Path.cwd(), help="dbt project folder (default: here)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("warehouse/engines"),
        help="scratch folder, emptied first (default warehouse/engines)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder after a pass")
    return parser.parse_args(argv)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # unwinds like Ctrl-C, so every server and child process is stopped on the way out
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    engines = tuple(name.strip() for name in args.engines.split(",") if name.strip())
    missing = missing_requirements(engines)
    if missing:
        for engine, problems in missing.items():
            print(f"test-engines: {engine} cannot run here:", file=sys.stderr)
            for problem in problems:
                print(f"  - {problem}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    project = args.project.resolve()
    settings = Settings(
        project=project,
        workdir=(project / args.workdir) if not args.workdir.is_absolute() else args.workdir,
        engines=engines,
        customers=args.customers,
        months=args.months,
        keep=args.keep,
    )
    started = time.perf_counter()
    try:
        report = Harness(settings).run()
    except KeyboardInterrupt:
        print("test-engines: interrupted; every server and command it started is stopped")
        return 130
    print()
    print(f"test-engines: {len(report.steps)} steps in {time.perf_counter() - started:.0f} s")
    for engine, comparisons in report.comparisons.items():
        for number, comparison in comparisons:
            print(f"  {engine} round {number}: {comparison.summary()}")
    for failure in report.failures:
        print(f"  FAILED {failure.splitlines()[0]}")
    print(f"test-engines: {'passed' if report.ok else 'FAILED'}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

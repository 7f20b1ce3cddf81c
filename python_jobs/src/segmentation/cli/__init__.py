"""Command-line jobs that run beside dbt: ``segmentation <job> [options]``.

Each job lives in a module exposing ``add_arguments(parser)`` and ``run(args) -> int``, or, for
small jobs that share a module (``module:name``), ``add_<name>_arguments`` and ``run_<name>``;
this file only routes to them, importing a job's module when it is asked for.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from typing import Any

from segmentation.errors import JobError

# job name -> (module, one-line help)
JOBS: dict[str, tuple[str, str]] = {
    "demo": ("segmentation.cli.demo", "generate the demo transaction log into the warehouse"),
    "summary": ("segmentation.cli.summary", "print where the warehouse is and how to query it"),
    "check-vars": ("segmentation.cli.checks:vars", "validate the dbt vars before dbt runs"),
    "check-lock": ("segmentation.cli.checks:lock", "stop if another process holds the warehouse"),
    "publish": ("segmentation.cli.publish", "publish BI tables to the serving copy after a build"),
    "load": ("segmentation.cli.load", "load a transaction log (file or folder) into raw tables"),
    "replay": ("segmentation.cli.replay", "backfill: load daily files month by month, build each"),
    "bench": ("segmentation.cli.bench", "measure the pipeline on demo logs of several sizes"),
    "charts": ("segmentation.cli.charts", "draw the segmentation charts for dbt docs"),
    "digest": ("segmentation.cli.digest", "digest a warehouse's tables; compare two digests"),
    "fit-model": (
        "segmentation.cli.fit_model",
        "fit the model beside dbt on a target that cannot run Python models",
    ),
}


def build_parser(job: str | None = None) -> argparse.ArgumentParser:
    """The command line: every job is listed, only ``job``'s options are added. Adding a job's
    options imports its module, and with it the job's dependencies (pandas, scikit-learn), so
    a job starts without importing every other job's (half a second for `load` or `publish`).
    """
    parser = argparse.ArgumentParser(prog="segmentation", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="job", required=True, metavar="JOB")
    for name, (module, help_text) in JOBS.items():
        job_parser = sub.add_parser(name, help=help_text, description=help_text)
        job_parser.set_defaults(_module=module)
        if name == job:
            job_function(module, "add_arguments")(job_parser)
    return parser


def job_function(spec: str, function: str) -> Callable[..., Any]:
    """``function`` (``add_arguments`` or ``run``) of the job ``spec``: ``module`` or
    ``module:name`` (then ``add_<name>_arguments`` or ``run_<name>``)."""
    module, _, name = spec.partition(":")
    if name:
        function = "run_" + name if function == "run" else f"add_{name}_arguments"
    return getattr(importlib.import_module(module), function)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # the job is the first word that is not an option (the program itself has only --help)
    job = next((word for word in argv if not word.startswith("-")), None)
    args = build_parser(job).parse_args(argv)
    try:
        return job_function(args._module, "run")(args)
    except JobError as error:
        print(f"segmentation {args.job}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The command-line router (segmentation.cli): a job imports its own module only."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from segmentation.cli import JOBS, main

PROBE = """
import sys
from segmentation.cli import JOBS, main
try:
    main([{job!r}, "--help"])
except SystemExit:
    pass
print(",".join(name for name, (spec, _) in JOBS.items() if spec.split(":")[0] in sys.modules))
"""


def _jobs_imported(job: str) -> list[str]:
    """The job modules a fresh interpreter has imported after `segmentation <job> --help`."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(job=job)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1].split(",")


@pytest.mark.parametrize("job", ["load", "publish"])
def test_a_job_imports_no_other_job(job: str) -> None:
    assert _jobs_imported(job) == [job]


def _help(capsys: pytest.CaptureFixture[str], *words: str) -> str:
    """What `segmentation WORDS --help` prints."""
    with pytest.raises(SystemExit) as stopped:
        main([*words, "--help"])
    assert stopped.value.code == 0
    return capsys.readouterr().out


def _own_arguments(usage: str) -> bool:
    """Whether a help text lists arguments beyond --help."""
    return usage.count("--") > 1 or "positional arguments:" in usage


def test_every_job_lists_its_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    for job in JOBS:
        usage = _help(capsys, job)
        assert usage.startswith(f"usage: segmentation {job} ")
        # a job made of subcommands (`segmentation digest write ...`) has its arguments on each
        subcommands = re.match(rf"usage: segmentation {job} \[-h\] \{{([\w,]+)\}}", usage)
        if subcommands:
            for name in subcommands[1].split(","):
                usage = _help(capsys, job, name)
                assert usage.startswith(f"usage: segmentation {job} {name} ")
                assert _own_arguments(usage), f"{job} {name}: {usage[:200]}"
        else:
            # every other job has options of its own beyond --help
            assert usage.count("--") > 1, f"{job}: {usage[:200]}"

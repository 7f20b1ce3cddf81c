"""Replay: month steps from daily file names, and loading month by month (fake build)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from helpers import REPO_ROOT, UCI_HEADER, parse_job_args

from segmentation.cli import replay as replay_job
from segmentation.errors import JobError
from segmentation.io.dbt_commands import AS_OF_DATE_ENV_VAR
from segmentation.publish.replay import (
    ReplayError,
    build_environment,
    file_date,
    month_end,
    parse_month,
    plan_steps,
    run_replay,
)


def _day_file(folder: Path, day: str, lines: int) -> None:
    rows = [
        f"5{day[5:7]}{day[8:]}{i},85123A,MUG,{i + 1},{day} 10:0{i % 10}:00,2.5,{17850 + i}.0,"
        "United Kingdom\n"
        for i in range(lines)
    ]
    (folder / f"{day}.csv").write_text(UCI_HEADER + "\n" + "".join(rows))


def test_dates_come_from_file_names_and_bad_names_are_named() -> None:
    assert file_date(Path("by-day/2011-01-04.csv")) == dt.date(2011, 1, 4)
    with pytest.raises(ReplayError, match="notes.csv"):
        file_date(Path("notes.csv"))
    with pytest.raises(ReplayError, match="2011-02-30"):
        file_date(Path("2011-02-30.csv"))


def test_steps_cover_each_month_and_end_after_the_last_file() -> None:
    dates = [dt.date(2010, 12, 1), dt.date(2011, 1, 15), dt.date(2011, 3, 9)]
    steps = plan_steps(dates)
    assert [s.month_end for s in steps] == [
        dt.date(2010, 12, 31),
        dt.date(2011, 1, 31),
        dt.date(2011, 2, 28),
        dt.date(2011, 3, 31),
    ]
    assert steps[0].as_of_date == dt.date(2011, 1, 1)
    assert steps[-1].as_of_date == dt.date(2011, 3, 10)  # the log ends mid-month
    window = plan_steps(dates, parse_month("2011-01"), parse_month("2011-02"))
    assert [s.as_of_date for s in window] == [dt.date(2011, 2, 1), dt.date(2011, 3, 1)]
    assert len(plan_steps(dates, months=2)) == 2
    assert month_end(dt.date(2012, 2, 10)) == dt.date(2012, 2, 29)
    with pytest.raises(ReplayError, match="after"):
        plan_steps(dates, parse_month("2011-03"), parse_month("2011-01"))
    with pytest.raises(ReplayError, match="YYYY-MM"):
        parse_month("2011-1")


def test_the_as_of_date_goes_through_the_environment_and_a_users_is_refused() -> None:
    assert build_environment(dt.date(2011, 2, 1), {"retrain": True}) == {
        AS_OF_DATE_ENV_VAR: "2011-02-01"
    }
    with pytest.raises(ReplayError, match="as_of_date"):
        build_environment(dt.date(2011, 2, 1), {"as_of_date": "2011-01-01"})
    # the vars are the same every month, so dbt keeps its partial parsing
    args = parse_job_args(replay_job, ["by-day", "--vars", "{retrain: true}"])
    command = replay_job.dbt_command(args, {"retrain": True})
    assert "2011-02-01" not in " ".join(command)
    assert command[command.index("--vars") + 1] == '{"retrain": true}'


def test_each_build_is_a_scheduled_build_without_unit_tests() -> None:
    args = parse_job_args(
        replay_job, ["by-day", "--dbt-arg=--select", "--dbt-arg=+models/monitoring"]
    )
    command = replay_job.dbt_command(args, {})
    assert command[1] == "build"
    at = command.index("--exclude-resource-type")
    assert command[at + 1] == "unit_test"
    assert command[-2:] == ["--select", "+models/monitoring"]


def test_each_step_loads_only_the_files_up_to_its_month_end(tmp_path: Path) -> None:
    folder = tmp_path / "by-day"
    folder.mkdir()
    for day, lines in (("2010-12-01", 3), ("2010-12-20", 2), ("2011-01-05", 4), ("2011-02-01", 1)):
        _day_file(folder, day, lines)
    database = tmp_path / "w.duckdb"
    counts: list[int] = []

    def build(step) -> int:
        con = duckdb.connect(str(database), read_only=True)
        counts.append(con.sql("select count(*) from raw.transactions").fetchall()[0][0])
        con.close()
        return 0

    steps = plan_steps(sorted(file_date(p) for p in folder.iterdir()))
    results = run_replay(folder, database, steps, build, report=lambda _: None)
    assert counts == [5, 9, 10]
    assert [r.load.files_loaded for r in results] == [2, 1, 1]
    con = duckdb.connect(str(database), read_only=True)
    names = con.sql("select distinct source_file from raw.transactions order by 1").fetchall()
    con.close()
    assert names[0][0].endswith("by-day/2010-12-01.csv")  # the real file names are recorded

    failing = run_replay(folder, database, steps, lambda step: 1, report=lambda _: None)
    assert len(failing) == 1 and failing[0].build_exit_code == 1


def test_the_job_refuses_bad_vars_and_an_as_of_date(tmp_path: Path) -> None:
    folder = tmp_path / "by-day"
    folder.mkdir()
    _day_file(folder, "2010-12-01", 2)
    for bad, message in (
        ("{as_of_date: 2011-01-01}", "as_of_date"),
        ("{retrain: maybe}", "retrain"),
        ("{retraining_policy: {psi_bins: 1}}", "psi_bins"),
    ):
        args = parse_job_args(
            replay_job,
            [str(folder), "--database", str(tmp_path / "w.duckdb"), "--vars", bad]
            + ["--project-dir", str(REPO_ROOT)],
        )
        with pytest.raises(JobError, match=message):
            replay_job.run(args)

"""The real UCI Online Retail log (305 daily CSV files) loads completely and matches the
figures in ../shared/data/online_retail/README.md; a second load adds nothing."""

from __future__ import annotations

import time

import duckdb
import pytest
from helpers import require_online_retail

from segmentation.loading import LoadOptions, load_path

pytestmark = pytest.mark.real_data


def test_real_log_loads_with_the_published_figures(tmp_path):
    by_day = require_online_retail()
    con = duckdb.connect(str(tmp_path / "real.duckdb"))
    started = time.perf_counter()
    report = load_path(con, by_day, LoadOptions(show_progress=False))
    print(f"loaded {report.rows_loaded:,} rows in {time.perf_counter() - started:.1f} s")

    assert report.files_loaded == 305
    assert report.rows_read == 541_909
    assert report.rows_rejected == 0
    assert report.rows_loaded == report.rows_read - report.rows_rejected
    figures = con.execute(
        """
        select count(*),
            count(distinct customer_id),
            round(sum(quantity * unit_price), 2),
            count(*) filter (where invoice_id like 'C%'),
            count(distinct invoice_id),
            count(*) filter (where customer_id is null),
            count(distinct (source_file, source_row))
        from raw.transactions
        """
    ).fetchone()
    assert figures == (541_909, 4_372, 9_747_747.93, 9_288, 25_900, 135_080, 541_909)
    log = con.execute(
        "select count(*), sum(rows_read), bool_and(rows_read = rows_loaded + rows_rejected) "
        "from raw.load_log"
    ).fetchone()
    assert log == (305, 541_909, True)

    again = load_path(con, by_day, LoadOptions(show_progress=False))
    assert again.units == [] and len(again.skipped) == 305
    assert con.execute("select count(*) from raw.transactions").fetchone()[0] == 541_909
    con.close()

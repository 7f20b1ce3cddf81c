"""The whole chain, loader to segments, built by the real `dbt build` (all dbt tests included)."""

from __future__ import annotations

import duckdb
import pytest
from helpers import actionable_segment_problems, require_online_retail, run_dbt
from sklearn.metrics import adjusted_rand_score

from segmentation.benchmark.floor import (
    FloorSettings,
    FloorSources,
    check_floor_equals_mart,
    floor_sql,
)
from segmentation.demo import DemoConfig, write_demo
from segmentation.loading import LoadOptions, load_path

pytestmark = pytest.mark.dbt


@pytest.mark.real_data
def test_real_log_builds_actionable_segments_and_a_reversed_mistake_is_not_a_big_spender(tmp_path):
    by_day = require_online_retail()
    database = tmp_path / "real.duckdb"
    with duckdb.connect(str(database)) as con:
        report = load_path(con, by_day, LoadOptions(show_progress=False))
        assert report.rows_read == 541_909
        assert report.rows_read == report.rows_loaded + report.rows_rejected

    run_dbt(["build"], database, tmp_path)

    with duckdb.connect(str(database), read_only=True) as con:
        customers, segmented = con.execute(
            "select (select count(*) from marts.fct_customer_features),"
            " (select count(*) from marts.fct_customer_segments)"
        ).fetchall()[0]
        assert customers == segmented > 4_000
        # 12346's whole history is an 74,215-unit order and its reversal: no net purchase
        assert con.execute(
            "select count(*) from marts.fct_customer_features where customer_id = '12346'"
        ).fetchall() == [(0,)]
        # the other mistaken order (80,995 units) nets out too: its buyer is not the top spender
        top = con.execute(
            "select customer_id from marts.fct_customer_features order by monetary_amount desc"
            " limit 1"
        ).fetchall()[0][0]
        assert top != "16446"
        # the default build gives segments a marketer can act on (issue: actionable segments)
        assert actionable_segment_problems(con) == []
        # the benchmark's same-work floor gives the feature mart's rows on the real log too
        floor = floor_sql(FloorSources.warehouse(), FloorSettings())
        assert check_floor_equals_mart(con, f"({floor})").ok

    # loading the same folder again finds nothing new
    with duckdb.connect(str(database)) as con:
        again = load_path(con, by_day, LoadOptions(show_progress=False))
        assert again.rows_loaded == 0


def test_retail_export_without_invoice_ids_times_or_products_builds_actionable_segments(
    tmp_path,
):
    """The demo as a retailer's export: a line per customer and day with units and an amount,
    no invoice ids, no time of day, no products, no countries (a trap the demo keeps for logs
    shaped like that; planted archetypes known)."""
    source = tmp_path / "demo.duckdb"
    export = tmp_path / "export.csv"
    with duckdb.connect(str(source)) as con:
        write_demo(con, DemoConfig(customers=1500, months=25, seed=11))
        con.execute(
            "copy (select customer_id as cust, strftime(invoiced_at, '%Y%m%d') as day,"
            " sum(quantity) as units, round(sum(quantity * unit_price), 2) as amount"
            " from raw.transactions where customer_id is not null group by all)"
            f" to '{export}' (header)"
        )
        archetypes = con.execute("select * from raw.customer_archetypes").df()
    database = tmp_path / "mapped.duckdb"
    columns = {"customer_id": "cust", "invoiced_at": "day", "quantity": "units"}
    options = LoadOptions(
        columns={**columns, "line_total": "amount"}, date_format="%Y%m%d", show_progress=False
    )
    with duckdb.connect(str(database)) as con:
        report = load_path(con, export, options)
        assert report.rows_read == report.rows_loaded + report.rows_rejected
        # a day whose returns cancel its purchases has no unit price: kept with its reason
        reasons = con.execute("select distinct reason from raw.rejected_rows").fetchall()
        zero = "quantity is 0, so no unit price can be derived from the line total"
        assert reasons in ([], [(zero,)])

    done = run_dbt(["build"], database, tmp_path)
    for capability in ("has_invoice_id", "has_stock_code", "has_country"):
        assert f"Note: input {capability} is missing" in done.stdout

    with duckdb.connect(str(database), read_only=True) as con:
        row = con.execute(
            "select count(*), count(distinct_products), count(primary_country),"
            " max(evening_order_share) from marts.fct_customer_features"
        ).fetchall()[0]
        assert row[0] > 1000
        assert row[1:] == (0, 0, 0)
        assert actionable_segment_problems(con) == []
        con.register("archetypes", archetypes)
        pairs = con.execute(
            "select a.archetype, s.segment_id from marts.fct_customer_segments as s"
            " join archetypes as a using (customer_id)"
        ).fetchall()
    assert len(pairs) == row[0]
    ari = adjusted_rand_score([p[0] for p in pairs], [p[1] for p in pairs])
    assert ari >= 0.8, f"planted archetypes recovered with ARI {ari:.3f}"

"""The demo's optional inputs: written beside the log without changing it, with partial
attribute coverage and engagement that differs by archetype as tuning.py says."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from segmentation.demo import DemoConfig, write_demo
from segmentation.demo.sources import write_demo_sources
from segmentation.demo.tuning import ATTRIBUTE_MIX
from segmentation.io.warehouse import ensure_raw_tables

CONFIG = DemoConfig(customers=900, months=25, seed=11)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo_sources") / "demo.duckdb"
    with duckdb.connect(str(path)) as con:
        ensure_raw_tables(con)
        write_demo(con, CONFIG)
        write_demo_sources(con, CONFIG)
    return path


def _frame(path: Path, sql: str):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).df()


def test_the_log_is_the_same_with_or_without_the_optional_inputs(
    warehouse: Path, tmp_path: Path
) -> None:
    log_only = tmp_path / "log_only.duckdb"
    with duckdb.connect(str(log_only)) as con:
        write_demo(con, CONFIG)
    digest = (
        "select count(*), sum(hash(invoice_id, stock_code, quantity, unit_price, invoiced_at, "
        "customer_id, source_row)) from raw.transactions"
    )
    assert _frame(log_only, digest).equals(_frame(warehouse, digest))


def test_about_a_third_of_customers_have_attributes_and_answers_are_partial(
    warehouse: Path,
) -> None:
    coverage = _frame(
        warehouse,
        "select count(distinct c.customer_id) / count(distinct a.customer_id) as share "
        "from raw.customer_archetypes a left join raw.customer_attributes c using (customer_id)",
    )["share"][0]
    assert 0.25 <= coverage <= 0.42
    per_attribute = _frame(
        warehouse,
        "select attribute_name, count(*) as n from raw.customer_attributes group by 1",
    ).set_index("attribute_name")["n"]
    members = _frame(
        warehouse, "select count(distinct customer_id) as n from raw.customer_attributes"
    )["n"][0]
    assert set(per_attribute.index) == set(ATTRIBUTE_MIX)
    assert (per_attribute < members).all()  # some answers are left blank


def test_engagement_follows_the_archetypes(warehouse: Path) -> None:
    rates = _frame(
        warehouse,
        """
        select a.archetype,
            count(*) filter (where e.event_kind = 'email_opened')
                / nullif(count(*) filter (where e.event_kind = 'email_sent'), 0) as open_rate,
            count(*) filter (where e.event_kind = 'session')
                / count(distinct e.customer_id) as sessions
        from raw.engagement_events e join raw.customer_archetypes a using (customer_id)
        group by a.archetype
        """,
    ).set_index("archetype")
    # email-driven archetypes open far more than site-driven and lapsed ones
    assert (
        rates.loc["loyal_high_value", "open_rate"]
        > 2 * rates.loc["frequent_low_basket", "open_rate"]
    )
    assert rates.loc["seasonal_gift_buyer", "open_rate"] > 3 * rates.loc["lapsed", "open_rate"]
    # site-driven archetypes visit more often than the once-a-year buyers
    assert (
        rates.loc["frequent_low_basket", "sessions"]
        > 2 * rates.loc["seasonal_gift_buyer", "sessions"]
    )


def test_every_order_has_a_session_before_it_and_events_stay_in_the_window(warehouse: Path) -> None:
    missing = _frame(
        warehouse,
        """
        with orders as (
            select customer_id, min(invoiced_at) as at
            from raw.transactions
            where customer_id is not null and not starts_with(invoice_id, 'C')
            group by customer_id, invoice_id
        )
        select count(*) as n from orders o
        where not exists (
            select 1 from raw.engagement_events e
            where e.customer_id = o.customer_id and e.event_kind = 'session'
                and e.occurred_at between o.at - interval 1 hour and o.at
        )
        """,
    )["n"][0]
    assert missing == 0
    last = _frame(warehouse, "select max(occurred_at) as m from raw.engagement_events")["m"][0]
    assert last.date() <= CONFIG.end_date


def test_sources_are_deterministic(warehouse: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.duckdb"
    with duckdb.connect(str(again)) as con:
        write_demo(con, CONFIG)
        write_demo_sources(con, CONFIG)
    sql = (
        "select (select sum(hash(customer_id, occurred_at, event_kind, source_row)) "
        "from raw.engagement_events) as e, (select sum(hash(customer_id, attribute_name, "
        "attribute_value)) from raw.customer_attributes) as a"
    )
    assert _frame(again, sql).equals(_frame(warehouse, sql))

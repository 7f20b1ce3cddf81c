"""The benchmark's optional inputs: the demo's attributes and events of the size's customers,
written as a shop's files, load through their mappings into the same rows the demo writes."""

from __future__ import annotations

import pytest

from segmentation.benchmark.data import BenchSize, LogFile, ensure_log
from segmentation.benchmark.inputs import InputsMismatch, ensure_inputs
from segmentation.demo import DemoConfig, write_demo
from segmentation.demo.sources import write_demo_sources
from segmentation.io import warehouse
from segmentation.loading.sources import SourceOptions, load_source

SIZE = BenchSize("tiny", 150, 4)
ATTRIBUTES = (
    "select customer_id, attribute_name, attribute_value, attribute_type "
    "from raw.customer_attributes order by all"
)
EVENTS = (
    "select customer_id, occurred_at, event_type, event_kind from raw.engagement_events "
    "order by all"
)


def _demo_rows(tmp_path) -> tuple[list, list]:
    """The rows the demo generator itself writes for SIZE."""
    con = warehouse.connect(tmp_path / "demo.duckdb")
    try:
        warehouse.ensure_raw_tables(con)
        config = DemoConfig(customers=SIZE.customers, months=SIZE.months, seed=7)
        write_demo(con, config)
        write_demo_sources(con, config)
        return con.execute(ATTRIBUTES).fetchall(), con.execute(EVENTS).fetchall()
    finally:
        con.close()


def test_the_input_files_load_into_the_rows_the_demo_writes(tmp_path):
    log = ensure_log(tmp_path / "data", SIZE, seed=7)
    files = ensure_inputs(log, SIZE, seed=7)
    attributes, events = _demo_rows(tmp_path)
    assert attributes and events
    con = warehouse.connect(tmp_path / "loaded.duckdb")
    try:
        for name, path, mapping in (
            ("customers", files.customers, files.customers_mapping),
            ("engagement", files.engagement, files.engagement_mapping),
        ):
            report = load_source(con, path, SourceOptions(name, mapping))
            assert report.rows_rejected == 0, name
        assert con.execute(ATTRIBUTES).fetchall() == attributes
        assert con.execute(EVENTS).fetchall() == events
    finally:
        con.close()
    assert files.events == len(events) and files.attribute_values == len(attributes)
    assert files.attribute_customers == len({row[0] for row in attributes})
    # a second call reuses the files
    stamp = files.engagement.stat().st_mtime_ns
    assert ensure_inputs(log, SIZE, seed=7) == files
    assert files.engagement.stat().st_mtime_ns == stamp


def test_inputs_for_another_log_are_refused(tmp_path):
    log = ensure_log(tmp_path / "data", SIZE, seed=7)
    other = LogFile(log.path, log.lines + 1, log.customers)
    with pytest.raises(InputsMismatch, match="has"):
        ensure_inputs(other, SIZE, seed=7)
    assert not list((tmp_path / "data").glob("*-customers.parquet"))
    assert not list((tmp_path / "data").glob("*scratch*"))

"""The EDA queries in analyses/ and the reporting models they read.

One small demo warehouse is built with dbt (reporting models, customer features and their
tests), every analysis is compiled by dbt and then run with DuckDB; each result is checked
against invariants and against figures recomputed here from the raw log or the marts.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO_ROOT, run_dbt

from segmentation.demo import DemoConfig, write_demo
from segmentation.io.warehouse import connect

pytestmark = pytest.mark.dbt

ANALYSES_DIR = REPO_ROOT / "analyses"
REPORTING_DIR = REPO_ROOT / "models" / "reporting"
PROJECT_NAME = "customer_segments"
# A log that ends mid-month, so the last month is partial.
DEMO = DemoConfig(customers=300, months=14, seed=1, end_date=dt.date(2026, 9, 15))
EVENING_START_HOUR = 18
# Shares are computed in SQL and again here in pandas: equal up to rounding.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Built:
    """A built demo warehouse and the result of every compiled analysis."""

    con: duckdb.DuckDBPyConnection
    results: dict[str, pd.DataFrame]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """Demo log -> dbt build of reporting + features -> every analysis compiled and run."""
    work = tmp_path_factory.mktemp("analyses")
    database = work / "eda.duckdb"
    con = connect(database)
    write_demo(con, DEMO)
    con.close()
    run_dbt(
        [
            "build",
            "--select",
            "+path:models/reporting",
            "+fct_customer_features",
            "--indirect-selection",
            "cautious",
        ],
        database,
        work,
    )
    run_dbt(["compile", "--select", "path:analyses"], database, work)
    compiled = work / "target" / "compiled" / PROJECT_NAME / "analyses"
    con = duckdb.connect(str(database), read_only=True)
    results = {path.stem: con.sql(path.read_text()).df() for path in sorted(compiled.glob("*.sql"))}
    yield Built(con=con, results=results)
    con.close()


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    """The single value a query returns."""
    return con.execute(sql).fetchall()[0][0]


def staged_raw(built: Built) -> pd.DataFrame:
    """raw.transactions with the text clean-up of staging: trimmed, blanks as missing,
    invoice and stock codes upper-cased."""
    raw = built.con.sql("select * from raw.transactions").df()
    for column in ("invoice_id", "stock_code", "description", "customer_id", "country"):
        raw[column] = raw[column].str.strip().replace("", None)
    raw["invoice_id"] = raw["invoice_id"].str.upper()
    raw["stock_code"] = raw["stock_code"].str.upper()
    return raw


def duplicated_lines(raw: pd.DataFrame) -> pd.Series:
    """True for the second and later copies of a line (all columns but the source equal)."""
    key = [column for column in raw.columns if column not in ("source_file", "source_row")]
    return raw.duplicated(subset=key)


def features(built: Built) -> pd.DataFrame:
    """fct_customer_features as pandas."""
    return built.con.sql("select * from marts.fct_customer_features").df()


def kept_order_count(built: Built) -> int:
    """Orders with a positive value after netting."""
    return scalar(built.con, "select count(*) from intermediate.int_orders_netted where is_kept")


def assert_sums_to_one(values: pd.Series, what: str) -> None:
    """Shares add up to 1 (within float error) and each lies in [0, 1]."""
    assert values.between(-TOLERANCE, 1 + TOLERANCE).all(), f"{what}: a share outside [0, 1]"
    total = float(values.astype(float).sum())
    assert math.isclose(total, 1.0, abs_tol=TOLERANCE), f"{what}: sums to {total}"


# ------------------------------------------------------------------------------------------
# Every analysis compiles, runs, returns rows and is documented
# ------------------------------------------------------------------------------------------


def analysis_docs() -> dict[str, dict]:
    """The entries of analyses/_analyses.yml by name."""
    document = yaml.safe_load((ANALYSES_DIR / "_analyses.yml").read_text())
    return {entry["name"]: entry for entry in document["analyses"]}


def test_every_analysis_compiles_runs_and_returns_rows(built: Built) -> None:
    sources = {path.stem for path in ANALYSES_DIR.glob("*.sql")}
    assert sources, "no analyses found"
    assert set(built.results) == sources
    empty = [name for name, frame in built.results.items() if frame.empty]
    assert not empty, f"analyses without rows: {empty}"


def test_every_analysis_is_documented_with_its_question_and_columns(built: Built) -> None:
    docs = analysis_docs()
    assert set(docs) == set(built.results)
    for name, entry in docs.items():
        description = entry.get("description", "")
        assert "Question:" in description and "Reading it:" in description, name
        documented = [column["name"] for column in entry.get("columns", [])]
        actual = list(built.results[name].columns)
        missing = set(documented) - set(actual)
        assert not missing, f"{name}: documented columns not in the result: {missing}"
        # the triangle documents month_0_retention for its whole family of month columns
        undocumented = {
            column
            for column in actual
            if column not in documented and not re.fullmatch(r"month_\d+_retention", column)
        }
        assert not undocumented, f"{name}: columns without a description: {undocumented}"


def test_reporting_models_document_every_column(built: Built) -> None:
    document = yaml.safe_load((REPORTING_DIR / "_reporting__models.yml").read_text())
    models = {entry["name"]: entry for entry in document["models"]}
    assert set(models) == {path.stem for path in REPORTING_DIR.glob("*.sql")}
    for name, entry in models.items():
        assert entry.get("description"), name
        documented = [column["name"] for column in entry["columns"]]
        assert all(column.get("description") for column in entry["columns"]), name
        actual = [row[0] for row in built.con.execute(f"describe reporting.{name}").fetchall()]
        assert documented == actual, f"{name}: YAML columns differ from the table"


# ------------------------------------------------------------------------------------------
# Reporting models
# ------------------------------------------------------------------------------------------


def test_monthly_revenue_flags_only_months_the_log_does_not_cover(built: Built) -> None:
    first, last = built.con.execute(
        "select min(invoiced_at)::date, max(invoiced_at)::date from raw.transactions"
    ).fetchall()[0]
    monthly = built.con.sql(
        "select month_start_date, is_partial_month, covered_day_count "
        "from reporting.rpt_monthly_revenue order by 1"
    ).df()
    months = [pd.Timestamp(month).date() for month in monthly["month_start_date"]]
    assert months == list(pd.date_range(first.replace(day=1), last, freq="MS").date)
    for start, partial, covered in zip(
        months, monthly["is_partial_month"], monthly["covered_day_count"], strict=True
    ):
        end = (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
        covered_from, covered_to = max(start, first), min(end, last)
        assert covered == (covered_to - covered_from).days + 1, start
        assert partial == (covered_from > start or covered_to < end), start
    assert bool(monthly["is_partial_month"].iloc[-1]), "a log ending on the 15th ends partial"


def test_monthly_revenue_reconciles_with_the_raw_log_and_the_features(built: Built) -> None:
    raw = staged_raw(built)
    codes = pd.read_csv(REPO_ROOT / "seeds" / "non_product_stock_codes.csv")
    exact = set(codes.loc[codes["match_type"] == "exact", "code_pattern"])
    prefixes = tuple(codes.loc[codes["match_type"] == "prefix", "code_pattern"])
    non_product = raw["stock_code"].isin(exact) | raw["stock_code"].str.startswith(prefixes)
    is_sale = (
        ~raw["invoice_id"].str.startswith(("C", "A"))
        & (raw["quantity"] > 0)
        & (raw["unit_price"] > 0)
    )
    keep = is_sale & ~non_product & ~duplicated_lines(raw)
    expected_gross = (raw.loc[keep, "quantity"] * raw.loc[keep, "unit_price"]).sum()

    totals = built.con.execute(
        "select sum(gross_sales_amount), sum(customer_net_amount), sum(new_customer_count), "
        "sum(kept_order_count) from reporting.rpt_monthly_revenue"
    ).fetchall()[0]
    frame = features(built)
    assert totals[0] == pytest.approx(expected_gross, rel=1e-9)
    assert totals[1] == pytest.approx(frame["monetary_amount"].sum(), rel=1e-9)
    assert totals[2] == len(frame)
    assert totals[3] == frame["frequency_orders"].sum()


def test_cohort_retention_starts_at_one_and_adds_up(built: Built) -> None:
    cohorts = built.con.sql("select * from reporting.rpt_cohort_retention").df()
    month_zero = cohorts[cohorts["months_since_first_order"] == 0]
    assert (month_zero["retention_rate"] == 1.0).all()
    assert cohorts["retention_rate"].between(0, 1).all()
    assert month_zero["cohort_customer_count"].sum() == len(features(built))
    assert cohorts["net_amount"].sum() == pytest.approx(features(built)["monetary_amount"].sum())
    # customers are active in a month at most once, whatever their cohort
    active = cohorts.groupby("activity_month_date")["active_customer_count"].sum()
    expected = built.con.execute(
        "select date_trunc('month', order_date)::date, count(distinct customer_id) "
        "from intermediate.int_orders_netted where is_kept group by 1"
    ).fetchall()
    assert {pd.Timestamp(month).date(): int(count) for month, count in active.items()} == {
        month: count for month, count in expected
    }


# ------------------------------------------------------------------------------------------
# The analyses
# ------------------------------------------------------------------------------------------


def test_monthly_revenue_and_orders(built: Built) -> None:
    result = built.results["monthly_revenue_and_orders"]
    assert_sums_to_one(result["customer_net_amount_share"], "customer_net_amount_share")
    assert result["month_start_date"].is_monotonic_increasing
    assert math.isnan(result["per_day_growth"].iloc[0])
    per_day = result["customer_net_amount"] / result["covered_day_count"]
    np.testing.assert_allclose(result["customer_net_amount_per_day"], per_day)
    growth = per_day / per_day.shift() - 1
    np.testing.assert_allclose(result["per_day_growth"][1:], growth[1:])


def test_country_mix(built: Built) -> None:
    result = built.results["country_mix"]
    for share in ("customer_share", "order_share", "net_amount_share"):
        assert_sums_to_one(result[share], share)
    assert result["country"].is_unique
    assert result["customer_count"].sum() == len(features(built))
    assert result["kept_order_count"].sum() == kept_order_count(built)
    assert result["net_amount"].is_monotonic_decreasing


def test_order_size_distributions(built: Built) -> None:
    result = built.results["order_size_distributions"]
    assert list(result["measure"]) == [
        "order_value",
        "units_per_order",
        "products_per_order",
        "lines_per_order",
    ]
    assert (result["order_count"] == kept_order_count(built)).all()
    ladder = ["min", "p01", "p05", "p25", "median", "p75", "p95", "p99", "max"]
    values = result[[f"{name}_value" for name in ladder]].to_numpy(dtype=float)
    assert (np.diff(values, axis=1) >= -TOLERANCE).all(), "quantiles must not decrease"
    order_values = built.con.sql(
        "select net_amount from intermediate.int_orders_netted where is_kept"
    ).df()["net_amount"]
    row = result.set_index("measure").loc["order_value"]
    assert row["median_value"] == pytest.approx(order_values.median())
    assert row["mean_value"] == pytest.approx(order_values.mean())


def test_order_value_bands(built: Built) -> None:
    result = built.results["order_value_bands"]
    assert_sums_to_one(result["order_share"], "order_share")
    assert_sums_to_one(result["net_amount_share"], "net_amount_share")
    assert result["order_count"].sum() == kept_order_count(built)
    assert result["cumulative_order_share"].is_monotonic_increasing
    assert result["cumulative_order_share"].iloc[-1] == pytest.approx(1.0)
    # bands are contiguous and open at the top
    assert (result["upper_amount"].iloc[:-1].to_numpy() == result["lower_amount"].iloc[1:]).all()
    assert math.isnan(result["upper_amount"].iloc[-1])


def test_cancellation_rates_by_month(built: Built) -> None:
    result = built.results["cancellation_rates_by_month"]
    for rate in (
        "order_cancellation_rate",
        "fully_cancelled_order_rate",
        "unit_cancellation_rate",
        "value_cancellation_rate",
    ):
        assert result[rate].between(-TOLERANCE, 1 + TOLERANCE).all(), rate
    assert (result["fully_cancelled_order_rate"] <= result["order_cancellation_rate"]).all()
    assert (result["booked_cancellation_rate"] >= 0).all()
    # the demo plants a cancellation, so some month has one
    assert result["cancelled_amount"].sum() > 0


def test_new_vs_returning_customers(built: Built) -> None:
    result = built.results["new_vs_returning_customers"]
    active = result[result["active_customer_count"] > 0]
    customer_shares = active["new_customer_share"] + active["returning_customer_share"]
    np.testing.assert_allclose(customer_shares, 1.0)
    revenue_shares = (
        active["new_customer_net_amount_share"] + active["returning_customer_net_amount_share"]
    )
    np.testing.assert_allclose(revenue_shares, 1.0)
    assert result["new_customer_share"].iloc[0] == 1.0, "everyone is new in the first month"
    assert result["new_customer_count"].sum() == len(features(built))


def test_cohort_retention_triangle(built: Built) -> None:
    result = built.results["cohort_retention_triangle"]
    assert (result["month_0_retention"] == 1.0).all()
    months = [column for column in result.columns if re.fullmatch(r"month_\d+_retention", column)]
    cells = result[months]
    assert ((cells >= 0) & (cells <= 1) | cells.isna()).all().all()
    # a cohort has a cell for each month from its own to the last one of the log
    month_count = len(built.results["monthly_revenue_and_orders"])
    assert list(cells.notna().sum(axis=1)) == list(range(month_count, 0, -1))
    assert list(result["partial_month_offset"]) == list(range(month_count - 1, -1, -1))
    assert result["cohort_customer_count"].sum() == len(features(built))


def test_top_products(built: Built) -> None:
    result = built.results["top_products"]
    assert 0 < len(result) <= 25
    assert list(result["revenue_rank"]) == list(range(1, len(result) + 1))
    assert result["net_amount"].is_monotonic_decreasing
    assert result["cumulative_net_amount_share"].is_monotonic_increasing
    assert result["cumulative_net_amount_share"].iloc[-1] <= 1 + TOLERANCE
    np.testing.assert_allclose(
        result["cumulative_net_amount_share"], result["net_amount_share"].cumsum()
    )
    best = built.con.execute(
        "select stock_code, sum(net_amount) from intermediate.int_sale_lines_netted "
        "group by 1 order by 2 desc, 1 limit 1"
    ).fetchall()[0]
    assert result["stock_code"].iloc[0] == best[0]
    assert result["net_amount"].iloc[0] == pytest.approx(best[1])


def test_orders_by_day_of_week(built: Built) -> None:
    result = built.results["orders_by_day_of_week"]
    assert list(result["day_of_week"]) == list(range(7))
    assert list(result.loc[result["is_weekend"], "day_name"]) == ["Sunday", "Saturday"]
    assert_sums_to_one(result["order_share"], "order_share")
    assert_sums_to_one(result["net_amount_share"], "net_amount_share")
    orders = built.con.sql(
        "select ordered_at from intermediate.int_orders_netted where is_kept"
    ).df()
    # pandas: Monday = 0; the analysis: Sunday = 0
    expected = ((orders["ordered_at"].dt.day_of_week + 1) % 7).value_counts()
    expected = expected.reindex(range(7), fill_value=0)
    assert list(result["order_count"]) == list(expected)


def test_orders_by_hour_of_day(built: Built) -> None:
    result = built.results["orders_by_hour_of_day"]
    assert list(result["hour_of_day"]) == list(range(24))
    assert list(result["is_evening"]) == [hour >= EVENING_START_HOUR for hour in range(24)]
    assert_sums_to_one(result["order_share"], "order_share")
    assert result["order_count"].sum() == kept_order_count(built)


def test_rfm_feature_distributions(built: Built) -> None:
    result = built.results["rfm_feature_distributions"].set_index("feature")
    frame = features(built)
    assert len(result) == 13
    assert ((result["customer_count"] + result["null_count"]) == len(frame)).all()
    ladder = ["min", "p01", "p05", "p25", "median", "p75", "p95", "p99", "max"]
    values = result[[f"{name}_value" for name in ladder]].to_numpy(dtype=float)
    assert (np.diff(values, axis=1) >= -TOLERANCE).all(), "quantiles must not decrease"
    for feature in result.index:
        column = frame[feature].dropna().astype(float)
        assert result.loc[feature, "mean_value"] == pytest.approx(column.mean()), feature
        assert result.loc[feature, "median_value"] == pytest.approx(column.median()), feature
        assert result.loc[feature, "null_count"] == frame[feature].isna().sum(), feature
    assert result["zero_share"].between(0, 1).all()


def test_rfm_feature_correlations(built: Built) -> None:
    result = built.results["rfm_feature_correlations"]
    feature_count = len(built.results["rfm_feature_distributions"])
    assert len(result) == feature_count * (feature_count - 1) // 2
    correlations = result[["pearson_correlation", "spearman_correlation"]].dropna()
    assert correlations.abs().le(1 + TOLERANCE).all().all()
    assert result["abs_spearman_correlation"].dropna().is_monotonic_decreasing
    frame = features(built).astype({"recency_days": float})
    indexed = result.set_index(["feature_a", "feature_b"])
    for pair in [
        ("frequency_orders", "monetary_amount"),
        ("recency_days", "avg_unit_price"),
        ("monetary_amount", "mean_days_between_orders"),
    ]:
        both = frame[list(pair)].dropna().astype(float)
        row = indexed.loc[pair]
        assert row["customer_count"] == len(both)
        assert row["pearson_correlation"] == pytest.approx(both.corr().iloc[0, 1])
    # Spearman with average ranks on a pair without missing values
    pair = ("frequency_orders", "monetary_amount")
    expected = frame[list(pair)].astype(float).corr(method="spearman").iloc[0, 1]
    assert indexed.loc[pair, "spearman_correlation"] == pytest.approx(expected)


def test_cleaning_rule_impact(built: Built) -> None:
    result = built.results["cleaning_rule_impact"]
    rules, kept = result.iloc[:-1], result.iloc[-1]
    assert kept["rule_name"] == "kept"
    all_rows = scalar(built.con, "select count(*) from raw.transactions")
    assert (result["all_row_count"] == all_rows).all()
    for share in ("flagged_row_share", "removed_row_share", "remaining_row_share"):
        assert rules[share].between(0, 1).all(), share
    assert rules["removed_row_count"].sum() + kept["remaining_row_count"] == all_rows
    assert rules["removed_row_share"].sum() + kept["remaining_row_share"] == pytest.approx(1.0)
    assert (rules["removed_row_count"] <= rules["flagged_row_count"]).all()
    assert rules["remaining_row_count"].is_monotonic_decreasing
    sale_lines = scalar(built.con, "select count(*) from intermediate.int_sale_lines_netted")
    assert kept["remaining_row_count"] == sale_lines
    # flags recomputed from the raw log
    raw = staged_raw(built)
    by_rule = rules.set_index("rule_name")
    assert by_rule.loc["exact_duplicate", "flagged_row_count"] == duplicated_lines(raw).sum()
    assert by_rule.loc["no_customer", "flagged_row_count"] == raw["customer_id"].isna().sum()
    assert by_rule.loc["cancellation", "flagged_row_count"] == (
        raw["invoice_id"].str.startswith("C").sum()
    )
    assert by_rule.loc["zero_price", "flagged_row_count"] == (raw["unit_price"] == 0).sum()

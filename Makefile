# Two commands: `make run` builds everything on the demo (or your) data, `make test` runs every test
# (`make test-fast`: the unit tests alone, in about a minute).
SHELL := /bin/bash
.DEFAULT_GOAL := run

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
ENGINES_STAMP := $(VENV)/.engines-stamp

export DBT_PROFILES_DIR := $(CURDIR)
export SEGMENTS_DUCKDB_PATH ?= warehouse/segments.duckdb
# The database `make test` builds on: separate from the one `make run` fills.
TEST_DUCKDB_PATH ?= warehouse/test.duckdb
# Demo data size for `make run` when the warehouse is empty (about 100 lines per customer).
DEMO_CUSTOMERS ?= 5000
DEMO_MONTHS ?= 25
# Your own log instead of the demo: make run DATA=path/to/file-or-folder [FORMAT=uci|uci2|csv|excel|parquet] [MAPPING=mapping.yml]
DATA ?=
FORMAT ?=
MAPPING ?=
# Optional inputs beside the log: customer attributes and engagement events (file or folder),
# each with its mapping, e.g. make run DATA=log.csv CUSTOMERS=loyalty.csv
# CUSTOMERS_MAPPING=loyalty.yml ENGAGEMENT=events/ ENGAGEMENT_MAPPING=events.yml
CUSTOMERS ?=
CUSTOMERS_MAPPING ?=
ENGAGEMENT ?=
ENGAGEMENT_MAPPING ?=
# dbt vars for the whole run, e.g. make run DBT_VARS='{as_of_date: 2011-06-01}' (checked before dbt runs)
DBT_VARS ?= {}

LOAD_OPTIONS := $(if $(FORMAT),--format '$(FORMAT)') $(if $(MAPPING),--mapping '$(MAPPING)')

.PHONY: run daily test test-fast env env-engines test-engines load replay bench docs pytest dbt-test lint clean

$(STAMP): requirements.lock python_jobs/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e python_jobs
	touch $(STAMP)

env: $(STAMP)

# The optional adapters for the postgres and spark targets (requirements-engines.lock), added
# to the same environment; the default install (requirements.lock) stays as it is.
$(ENGINES_STAMP): $(STAMP) requirements-engines.lock
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-engines.lock
	$(BIN)/python -m pip check
	touch $(ENGINES_STAMP)

env-engines: $(ENGINES_STAMP)

# Load DATA when given (only new files; demo rows give way), else make demo data if empty;
# then CUSTOMERS and ENGAGEMENT when given (their demo rows give way too).
load: $(STAMP)
ifneq ($(strip $(DATA)),)
	$(BIN)/segmentation load '$(DATA)' --replace-demo $(LOAD_OPTIONS)
else
	$(BIN)/segmentation demo --if-empty --customers $(DEMO_CUSTOMERS) --months $(DEMO_MONTHS)
endif
ifneq ($(strip $(CUSTOMERS)),)
	$(BIN)/segmentation load '$(CUSTOMERS)' --source customers $(if $(CUSTOMERS_MAPPING),--mapping '$(CUSTOMERS_MAPPING)')
endif
ifneq ($(strip $(ENGAGEMENT)),)
	$(BIN)/segmentation load '$(ENGAGEMENT)' --source engagement $(if $(ENGAGEMENT_MAPPING),--mapping '$(ENGAGEMENT_MAPPING)')
endif

# Scheduled builds (run, daily, replay) run every test that reads one model alone (simple
# column tests, keys over several columns, row expressions, one-row tests) inside that model, in
# one query, instead of one dbt test node each; every other test keeps its node, and `make test`
# runs each test on its own. COMBINED_EXCLUDE is
# segmentation.io.dbt_commands.COMBINED_TEST_SELECTORS.
COMBINED_EXCLUDE := test_name:not_null,resource_type:model+1 test_name:unique,resource_type:model+1 test_name:accepted_values,resource_type:model+1 test_name:accepted_range,resource_type:model+1 test_name:unique_combination_of_columns,resource_type:model+1 test_name:expression_holds,resource_type:model+1 test_name:at_most_one_row,resource_type:model+1
# every scheduled `dbt build` (segmentation.io.dbt_commands.PRODUCTION_BUILD_ARGS)
SCHEDULED_BUILD_ARGS := --exclude-resource-type unit_test --exclude $(COMBINED_EXCLUDE)

run: $(STAMP)
	$(BIN)/segmentation check-vars --vars '$(DBT_VARS)'
	$(BIN)/segmentation check-lock
	$(MAKE) --no-print-directory load
	$(BIN)/dbt build $(SCHEDULED_BUILD_ARGS) --vars '$(DBT_VARS)'
	$(BIN)/segmentation publish
	$(BIN)/segmentation charts
	$(BIN)/dbt docs generate --static --vars '$(DBT_VARS)'
	$(BIN)/segmentation summary

# The daily build: load the new files, build, publish (no charts or docs).
daily: $(STAMP)
	$(BIN)/segmentation check-vars --vars '$(DBT_VARS)'
	$(BIN)/segmentation check-lock
	$(MAKE) --no-print-directory load
	$(BIN)/dbt build $(SCHEDULED_BUILD_ARGS) --vars '$(DBT_VARS)'
	$(BIN)/segmentation publish
	$(BIN)/segmentation summary

# Backfill history from a folder of daily files (one dbt build per month), e.g.
# make replay DATA=../shared/data/online_retail/by-day
replay: $(STAMP)
	$(BIN)/segmentation check-lock
	$(BIN)/segmentation replay '$(DATA)' --vars '$(DBT_VARS)'

# Speed and scale: the real pipeline on demo logs of about 1M, 10M and 50M lines, with the
# same-work floor (checked equal to fct_customer_features first), a notebook baseline and, for
# the sizes in BENCH_INPUTS, a full build with the demo's optional inputs loaded from files too
# (about 30 min on 2 cores; run on a quiet machine). Results in
# warehouse/bench/bench_results.{csv,md}. BENCH_SIZES=smoke BENCH_INPUTS= for a quick check.
BENCH_SIZES ?= 1m,10m,50m
BENCH_INPUTS ?= 10m
BENCH_VARS ?= {quality_gate_severity: warn}
bench: $(STAMP)
	$(BIN)/segmentation bench --sizes $(BENCH_SIZES) --inputs '$(BENCH_INPUTS)' --vars '$(BENCH_VARS)'

# Serve the docs site built by `make run` on http://localhost:8080.
docs: $(STAMP)
	$(BIN)/dbt docs serve --port 8080 --no-browser

test: lint pytest dbt-test

# Test processes (pytest-xdist): one per core by default. Each test file runs whole in one
# process (its module fixtures build one warehouse), longest files first (the order
# python_jobs/tests/conftest.py gives); PYTEST_WORKERS=0 runs everything in this one.
PYTEST_WORKERS ?= auto
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

# Every pytest test: python_jobs/tests/unit and python_jobs/tests/dbt (end to end, with dbt).
pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_PARALLEL) python_jobs/tests/unit python_jobs/tests/dbt

# The unit tests alone (no dbt), for the edit-test loop.
test-fast: $(STAMP)
	$(BIN)/pytest $(PYTEST_PARALLEL) python_jobs/tests/unit

# A full `dbt build` (all models and every dbt test, unit tests too, which `run` leaves out as
# dbt advises for scheduled builds) on a small fresh demo warehouse.
dbt-test: $(STAMP)
	rm -f $(TEST_DUCKDB_PATH)
	SEGMENTS_DUCKDB_PATH=$(TEST_DUCKDB_PATH) $(BIN)/segmentation demo --customers 1200 --months 25
	SEGMENTS_DUCKDB_PATH=$(TEST_DUCKDB_PATH) $(BIN)/dbt build

# The same project on PostgreSQL (a throwaway cluster on 127.0.0.1) and Spark (a local session),
# compared with DuckDB: builds the demo on each, appends a day, builds again.
# Needs the PostgreSQL server programs (apt-get install postgresql) and Java 17+; says what is
# missing otherwise. ENGINES=postgres or ENGINES=spark runs one.
ENGINES ?= postgres,spark
test-engines: $(ENGINES_STAMP)
	$(BIN)/python -m segmentation.engines --engines $(ENGINES)

lint: $(STAMP)
	$(BIN)/ruff check python_jobs
	$(BIN)/ruff format --check python_jobs

clean:
	rm -rf $(VENV) target logs warehouse

# socmon: `make demo` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements/requirements.lock
STATE := .socmon

export AIRFLOW_HOME := $(CURDIR)/$(STATE)/airflow
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PARALLELISM := 2
export AIRFLOW__COSMOS__ENABLE_TELEMETRY := False
export DO_NOT_TRACK := 1
export SOCMON_HOME := $(CURDIR)

.PHONY: setup venv postgres-binaries db airflow demo test eval lint lock clean

setup: venv postgres-binaries db airflow

venv: $(VENV)/.installed

$(VENV)/.installed: $(LOCK) pyproject.toml sandbox/pyproject.toml
	@echo "==> Python environment (.venv, locked packages)"
	@command -v uv >/dev/null || python3 -m pip install --quiet uv==0.13.9
	@test -x $(BIN)/python || uv venv --quiet --python 3.11 $(VENV)
	@VIRTUAL_ENV=$(VENV) uv pip install --quiet --compile-bytecode -r $(LOCK)
	@VIRTUAL_ENV=$(VENV) uv pip install --quiet --compile-bytecode --no-deps -e . -e ./sandbox
	@touch $@

postgres-binaries:
	@test -x "$$(pg_config --bindir 2>/dev/null)/initdb" || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "==> Installing postgresql-15 with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; }

db: venv postgres-binaries
	@echo "==> Warehouse (embedded Postgres)"
	@$(BIN)/socmon db up

airflow: venv
	@echo "==> Airflow metadata database ($(AIRFLOW_HOME))"
	@$(BIN)/python -c "from socmon.orchestration import airflow_environment as env, ensure_airflow; ensure_airflow(env())"

demo: setup
	@PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/socmon demo

test: setup
	@PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest $(PYTEST_ARGS)

eval: setup
	@PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/socmon eval

lint: venv
	@$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

lock:
	uv pip compile requirements/requirements.in --python-version 3.11 -o $(LOCK)

clean:
	-@$(BIN)/socmon db down 2>/dev/null
	rm -rf $(VENV) $(STATE) out dbt_project/target dbt_project/logs

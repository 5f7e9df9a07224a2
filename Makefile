# socmon: `make demo` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_LOCK := requirements/runtime.lock
DEV_LOCK := requirements/dev.lock
STATE := .socmon

export AIRFLOW_HOME := $(CURDIR)/$(STATE)/airflow
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PARALLELISM := 2
export DO_NOT_TRACK := 1
export SOCMON_HOME := $(CURDIR)

.PHONY: setup venv postgres-binaries db airflow demo test eval lint lock clean stack stack-down stack-packages test-deployment

setup: venv postgres-binaries db airflow

venv: $(VENV)/.installed

$(VENV)/.installed: $(RUNTIME_LOCK) $(DEV_LOCK) pyproject.toml sandbox/pyproject.toml
	@echo "==> Python environment (.venv, locked packages)"
	@command -v uv >/dev/null || python3 -m pip install --quiet uv==0.13.9
	@test -x $(BIN)/python || uv venv --quiet --python 3.11 $(VENV)
	@VIRTUAL_ENV=$(VENV) uv pip install --quiet --compile-bytecode -r $(RUNTIME_LOCK) -r $(DEV_LOCK)
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

# The compose file's topology natively (no Docker here): Redis, the metadata database in the embedded
# Postgres, api-server, scheduler, dag-processor, triggerer and two Celery workers, on the sandbox.
stack: setup stack-packages
	@PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m socmon_sandbox.stack up

stack-down:
	@PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m socmon_sandbox.stack down

stack-packages:
	@command -v redis-server >/dev/null && command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  echo "==> Installing redis-server, chromium and chromium-driver with apt-get"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    redis-server chromium chromium-driver >/dev/null; }

# The deployment test starts the stack itself, runs the DAGs through the REST API, drives the UI in
# Chromium, and stops what it started.
test-deployment: setup stack-packages
	@PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest tests/deployment -m deployment $(PYTEST_ARGS)

demo: setup
	@PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/socmon demo

test: setup
	@PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest $(PYTEST_ARGS)

eval: setup
	@PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/socmon eval

lint: venv
	@$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

# runtime.lock is what the production image installs; dev.lock adds the tools, constrained by it.
lock:
	cd requirements && uv pip compile runtime.in --python-version 3.11 -o runtime.lock
	cd requirements && uv pip compile dev.in --python-version 3.11 -o dev.lock

clean:
	-@$(BIN)/socmon db down 2>/dev/null
	rm -rf $(VENV) $(STATE) out dbt_project/target dbt_project/logs

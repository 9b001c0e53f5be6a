# Two commands on a fresh machine:
#   make run    set up and serve the ledger on its embedded SQLite default
#   make test   set up, lint, check migrations, run the whole suite on PostgreSQL and the service
#               tests on SQLite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
GRPC_PORT ?= 50051

# Tests run as production does (debug off) with a throwaway key.
TEST_ENV := DJANGO_DEBUG=False DJANGO_SECRET_KEY=test-only-secret-key-9f8e7d6c5b4a39281706f5e4d3c2b1a0-not-for-production \
	DJANGO_SECURE_SSL_REDIRECT=False DJANGO_SECURE_COOKIES=False

.PHONY: run grpc proto client serve cluster test lint format check-migrations pytest pytest-sqlite clean clean-demo bench torture

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

# bin/ledger runs manage.py with the virtualenv; debug on, whatever the shell exports.
run: $(VENV)/.runtime-installed
	DJANGO_DEBUG=True bin/ledger migrate --noinput
	@DJANGO_DEBUG=True bin/ledger setup_demo --url http://$(HOST):$(PORT)
	DJANGO_DEBUG=True bin/ledger runserver $(HOST):$(PORT)

# The same ledger over gRPC (docs/grpc.md), beside `make run` and on its database.
grpc: $(VENV)/.runtime-installed
	DJANGO_DEBUG=True bin/ledger migrate --noinput
	DJANGO_DEBUG=True bin/ledger grpcserver --bind $(HOST):$(GRPC_PORT)

# Regenerate grpc_api/v1/ from proto/ledger/v1/ (grpcio-tools: no protoc to install); make test
# fails while the committed code differs from what the proto generates (tests/grpc/test_proto.py).
proto: $(VENV)/.dev-installed
	$(BIN)/python -m grpc_api.codegen

# Regenerate the typed Python client, clients/python/ (ledger_client), from the OpenAPI schema
# (manage.py spectacular, no server or network) with openapi-python-client; make test fails while
# the committed package differs from what the schema generates (tests/client/test_codegen.py).
client: $(VENV)/.dev-installed
	$(BIN)/python -m clients.codegen

# The production configuration (gunicorn.conf.py) against $$DATABASE_URL, the same commands
# the Dockerfile runs. Needs DJANGO_SECRET_KEY; see the README's "Deploying" section.
serve: $(VENV)/.runtime-installed
	@test -n "$$DATABASE_URL" || { echo "make serve: set DATABASE_URL (e.g. postgres://user@127.0.0.1:5432/ledger)"; exit 2; }
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/gunicorn -c gunicorn.conf.py ledger_project.wsgi

# The production topology on this machine (harness/topology.py, docs/operations.md): a PostgreSQL
# primary and its streaming replica, PgBouncer, Redis, two gunicorn instances, the event relay,
# HAProxy and Prometheus, in a temporary folder; prints the addresses; Ctrl-C stops everything.
# CLUSTER_ARGS: e.g. --keep.
cluster: $(VENV)/.runtime-installed
	scripts/install-cluster-tools
	$(BIN)/python -m harness.cluster $(CLUSTER_ARGS)

test: lint check-migrations pytest pytest-sqlite

# Types (pyproject.toml's [tool.mypy]): the Django plugin loads the settings, so mypy runs with
# debug on (no secret key needed) and the in-memory database, whatever the shell exports.
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DJANGO_DEBUG=True DATABASE_URL=sqlite://:memory: $(BIN)/mypy

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-migrations: $(VENV)/.dev-installed
	DATABASE_URL=sqlite://:memory: $(TEST_ENV) $(BIN)/python manage.py makemigrations --check --dry-run

# PostgreSQL: $DATABASE_URL, else a server on 127.0.0.1:5432, else a throwaway cluster.
pytest: $(VENV)/.dev-installed
	$(TEST_ENV) scripts/with-postgres $(BIN)/pytest $(PYTEST_ARGS)

# The service tests (tests/services/) again on SQLite, in memory: the posting engine's other branch
# (its lock query and its writes). Tests marked postgres skip there.
pytest-sqlite: $(VENV)/.dev-installed
	DATABASE_URL=sqlite://:memory: $(TEST_ENV) $(BIN)/pytest tests/services

clean-demo:
	rm -f db.sqlite3 db.sqlite3-wal db.sqlite3-shm var/demo-credentials.txt

clean: clean-demo
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles

# The load benchmark (bench/): a fresh database on $$DATABASE_URL's server (else the one
# scripts/with-postgres finds), gunicorn as in production, wrk and pgbench; prints the table and
# writes bench/results/latest.json and docs/benchmarks.md. BENCH_ARGS: e.g. --duration 10.
bench: $(VENV)/.runtime-installed
	scripts/install-bench-tools
	scripts/install-cluster-tools
	scripts/with-postgres $(BIN)/python -m bench $(BENCH_ARGS)

# The torture suite (torture/): racing instances, crashing workers, a database outage (on a
# throwaway cluster), fuzzing, the authorization matrix and hostile input, against real processes
# on this machine; prints the table and writes docs/reliability.md. TORTURE_ARGS: e.g. --only outage.
torture: $(VENV)/.dev-installed
	scripts/install-cluster-tools
	scripts/with-postgres $(BIN)/python -m torture --report docs/reliability.md $(TORTURE_ARGS)

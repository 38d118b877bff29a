"""The e2e stack: the four services and the mock provider as real processes, on a real NATS and PostgreSQL.

One stack for the session (starting one takes seconds); each test makes its
own grants, so tests do not see each other's state. Every `tollgate` run and
every secret handed out is recorded, so the secret scan can look for all of them.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tollgate_devstack.services import Database
from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import Cli, Sdk


async def _drop_schemas(pg_url: str, schemas: list[str]) -> None:
    conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        for schema in schemas:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def e2e_stack(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[Stack]:
    """A running stack on PostgreSQL, with a fresh schema per service for this run (dropped afterwards).

    DEBUG logs and access logs on: the secret scan reads what the services would write at their most verbose.
    """
    database = Database(pg_url, schema_prefix=f"e2e_{secrets.token_hex(4)}")
    home = tmp_path_factory.mktemp("e2e-stack")
    stack = Stack(home, database=database, log_level="DEBUG", access_log=True)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
        asyncio.run(_drop_schemas(pg_url, database.schemas()))


@pytest.fixture(scope="session")
def handed_out() -> dict[str, str]:
    """Secrets the tests were given (tokens, API keys), by a readable name, for the secret scan."""
    return {}


@pytest.fixture(scope="session")
def cli(e2e_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """`.venv/bin/tollgate` against the e2e stack (TOLLGATE_HOME), run from a directory with no stack of its own."""
    return Cli(home=e2e_stack.home, cwd=Path(tmp_path_factory.mktemp("cli-cwd")))


@pytest.fixture
def sdk(e2e_stack: Stack) -> Iterator[Sdk]:
    """Official SDK clients pointed at the e2e stack's proxy, closed when the test ends."""
    with Sdk(e2e_stack.proxy_url) as clients:
        yield clients

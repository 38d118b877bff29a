"""Auth test helpers: an app running against a real NATS and a real database, and readers of the streams."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import nats
import pytest
from fastapi import FastAPI
from nats.js import JetStreamContext
from pydantic import SecretStr

from tollgate_auth.app import create_app
from tollgate_auth.settings import Settings
from tollgate_servicekit.keyring import new_kek_text

READY_TIMEOUT = 30.0


@pytest.fixture
def admin_key() -> str:
    return "tga_test_" + secrets.token_urlsafe(32)


@pytest.fixture
def signing_kek() -> str:
    """This test's signing-key KEK, as `TOLLGATE_AUTH_SIGNING_KEK` takes it."""
    return new_kek_text()


@pytest.fixture
def make_settings(fresh_nats, sqlite_database, admin_key, signing_kek) -> Callable[..., Settings]:
    """Settings for an app on this test's NATS and SQLite file; keyword arguments override."""

    def make(**overrides: Any) -> Settings:
        fields: dict[str, Any] = {
            "nats_url": fresh_nats.url,
            "database_url": sqlite_database.url,
            "admin_key": SecretStr(admin_key),
            "signing_kek": SecretStr(signing_kek),
            "retry_interval_seconds": 0.05,
            **overrides,
        }
        return Settings(**fields)

    return make


@asynccontextmanager
async def running(app: FastAPI, *, admin_key: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan, wait until it is ready, and hand out a client (with the admin key, if given)."""
    headers = {"Authorization": f"Bearer {admin_key}"} if admin_key else {}
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app.state.runtime.wait_ready(), READY_TIMEOUT)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://auth", headers=headers) as client:
            yield client


@pytest.fixture
async def client(make_settings, admin_key) -> AsyncIterator[httpx.AsyncClient]:
    """Auth on SQLite and this test's NATS, ready, with the admin key."""
    async with running(create_app(make_settings()), admin_key=admin_key) as c:
        yield c


@pytest.fixture
async def js(fresh_nats) -> AsyncIterator[JetStreamContext]:
    """A JetStream context on this test's NATS, for reading what auth published."""
    nc = await nats.connect(fresh_nats.url)
    yield nc.jetstream()
    await nc.close()


async def last_state(js: JetStreamContext, stream: str, subject: str) -> dict[str, Any]:
    """The last message on a subject, decoded."""
    msg = await js.get_last_msg(stream, subject)
    assert msg.data is not None
    decoded: dict[str, Any] = json.loads(msg.data)
    return decoded


async def stream_messages(js: JetStreamContext, stream: str) -> list[dict[str, Any]]:
    """Every message currently in a stream, oldest first."""
    info = await js.stream_info(stream)
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(stream, seq)
        if msg.data:
            found.append({"subject": msg.subject, **json.loads(msg.data)})
    return found


# -- real HTTP, for the pages in a browser (the `browser` fixture is servicekit's pytest plugin's) ---------------------


@asynccontextmanager
async def serving(app: FastAPI, port: int = 0) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 (a free port unless given; its lifespan included) until ready; yields
    its base URL."""
    import uvicorn

    from tollgate_servicekit.testing import eventually

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started or task.done(), timeout=READY_TIMEOUT, what="uvicorn to listen")
        if task.done():
            task.result()
        await asyncio.wait_for(app.state.runtime.wait_ready(), READY_TIMEOUT)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task

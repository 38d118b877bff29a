"""Ready means counting: metering runs with its least NATS privilege (it creates no stream), waits for the streams
auth creates, and shows on /readyz when NATS refuses its usage consumer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import nats
import pytest
from fastapi import FastAPI

from tollgate_contracts.bus import ensure_streams
from tollgate_metering.app import create_app
from tollgate_metering.settings import Settings
from tollgate_metering.testing import grant_state, serving, usage_recorded
from tollgate_servicekit.natsserver import NatsServer
from tollgate_servicekit.testing import eventually

pytestmark = pytest.mark.integration

Client = Callable[[FastAPI], httpx.AsyncClient]
FETCH = "$JS.API.CONSUMER.MSG.NEXT.TG_USAGE.metering"


def locked_settings(server: NatsServer, sqlite_database: Any) -> Settings:
    user, password = server.credentials("metering")
    return Settings(
        admin_key="test-admin-key-for-metering",
        nats_url=server.address,
        nats_user=user,
        nats_password=password,
        database_url=sqlite_database.url,
        fetch_timeout_seconds=1.0,
        retry_delay_seconds=0.1,
    )


async def readyz(client: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    response = await client.get("/readyz")
    return response.status_code, response.json()


async def test_with_least_privilege_and_no_stream_rights_metering_gets_ready_and_counts(
    locked_nats: Any, sqlite_database: Any, client_for: Client
) -> None:
    server = locked_nats()
    admin = await nats.connect(server.url)  # the harness, standing in for auth
    try:
        js = admin.jetstream()
        await ensure_streams(js)  # as auth does; metering may not
        grant = grant_state()
        await js.publish(grant.subject, grant.model_dump_json().encode())
        app = create_app(locked_settings(server, sqlite_database))
        async with serving(app), client_for(app) as client:
            record = usage_recorded(grant.grant_id)
            await js.publish(record.subject, record.model_dump_json().encode())

            async def counted() -> bool:
                usage = (await client.get(f"/v1/usage/{grant.grant_id}")).json()
                return bool(usage["requests"] == 1)

            await eventually(counted, what="the record to be counted")
            assert await readyz(client) == (200, {"status": "ready"})
    finally:
        await admin.close()


async def test_a_usage_fetch_refused_by_nats_shows_on_readyz(
    locked_nats: Any, sqlite_database: Any, client_for: Client
) -> None:
    server = locked_nats(without=(FETCH,))
    admin = await nats.connect(server.url)  # the harness, standing in for auth
    try:
        await ensure_streams(admin.jetstream())
        app = create_app(locked_settings(server, sqlite_database))
        async with serving(app), client_for(app) as client:

            async def refused() -> Any:
                status, body = await readyz(client)
                return body if status == 503 else None

            body = await eventually(refused, what="/readyz to report the refusal")
            again = await readyz(client)  # and it stays so: not a blip between fetches
    finally:
        await admin.close()
    assert body["status"] == "starting"
    assert "refused by NATS" in body["detail"] and FETCH.lower() in body["detail"].lower()
    assert again[0] == 503
    assert server.credentials("metering")[1] not in body["detail"]


async def test_without_its_streams_metering_waits_for_them_and_creates_none(
    fresh_nats: Any, sqlite_database: Any, client_for: Client
) -> None:
    settings = Settings(
        admin_key="test-admin-key-for-metering",
        nats_url=fresh_nats.url,
        database_url=sqlite_database.url,
        fetch_timeout_seconds=1.0,
        retry_delay_seconds=0.1,
    )
    app = create_app(settings)
    nc = await nats.connect(fresh_nats.url)
    try:
        async with app.router.lifespan_context(app), client_for(app) as client:

            async def waiting() -> Any:
                status, body = await readyz(client)
                return status == 503 and "does not exist yet" in body["detail"] and body

            body = await eventually(waiting, what="/readyz to say it waits for the streams")
            assert (await nc.jetstream().streams_info()) == []  # it created none
            await ensure_streams(nc.jetstream())
            await eventually(lambda: app.state.runtime.ready.is_set(), what="ready once the streams exist")
            assert await readyz(client) == (200, {"status": "ready"})
    finally:
        await nc.close()
    assert "waiting for the streams" in body["detail"] and "TG_USAGE" in body["detail"]

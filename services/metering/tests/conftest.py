"""Fixtures of the metering tests: a SQL store on each database, app settings against a real NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats
import pytest
from fastapi import FastAPI
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from tollgate_contracts import Event, Message, UsageRecorded
from tollgate_contracts.bus import ensure_streams
from tollgate_contracts.permissions import SERVICE_USERS
from tollgate_contracts.streams import USAGE
from tollgate_metering.adapters.db import SqlStore, prepare
from tollgate_metering.runtime import USAGE_DURABLE
from tollgate_metering.settings import Settings
from tollgate_servicekit.natsserver import NatsServer, narrowed
from tollgate_servicekit.sql import Database
from tollgate_servicekit.testing import eventually

ADMIN_KEY = "test-admin-key-for-metering"


@pytest.fixture
def locked_nats(tmp_path: Path) -> Iterator[Callable[..., NatsServer]]:
    """`locked_nats(without=(...))` starts a nats-server locked as deployed (tollgate_contracts.permissions), its
    `metering` user with metering's least privilege minus the publish rights in `without`; the harness user (the
    test's own client, standing in for auth) connects with `server.url`. All are stopped after the test."""
    servers: list[NatsServer] = []

    def start(without: tuple[str, ...] = ()) -> NatsServer:
        users = narrowed(SERVICE_USERS, "metering", without=without)
        server = NatsServer(tmp_path / f"locked-nats-{len(servers)}", service_users=users).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


S = TypeVar("S", bound=Message)


@pytest.fixture
async def store(database: Any) -> AsyncIterator[SqlStore]:
    """A SqlStore on a fresh database (SQLite file, then a fresh PostgreSQL schema)."""
    db = Database(database.url, database.schema)
    await prepare(db)
    yield SqlStore(db)
    await db.dispose()


@pytest.fixture
async def streams(fresh_nats: Any) -> None:
    """The streams on this test's nats-server, as auth creates them (metering only waits for them)."""
    nc = await nats.connect(fresh_nats.url)
    try:
        await ensure_streams(nc.jetstream())
    finally:
        await nc.close()


@pytest.fixture
def settings(database: Any, fresh_nats: Any, streams: None) -> Settings:
    """Settings for an app on this test's database and its own nats-server (streams created), with short retry
    delays."""
    return Settings(
        admin_key=ADMIN_KEY,
        nats_url=fresh_nats.url,
        database_url=database.url,
        database_schema=database.schema or "metering",
        fetch_timeout_seconds=1.0,
        retry_delay_seconds=0.1,
    )


class Bus:
    """The test's own NATS client: publishes like auth and the proxies do, reads state back."""

    def __init__(self, nc: NATS) -> None:
        self.nc = nc
        self.js = nc.jetstream()

    async def publish(self, event: Event, msg_id: str | None = None) -> None:
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        await self.js.publish(event.subject, event.model_dump_json().encode(), headers=headers)

    async def publish_usage(self, record: UsageRecorded, msg_id: str | None = None) -> None:
        """As a proxy does: the request id is the message id unless told otherwise."""
        await self.publish(record, msg_id or record.request_id)

    async def publish_raw(self, subject: str, data: bytes) -> None:
        await self.js.publish(subject, data)

    async def drained(self, within: float = 30.0) -> None:
        """Wait until the shared usage consumer has settled (acked or terminated) everything on the stream.

        Judged by the ack floor against the stream's last sequence: a consumer's `num_pending` can lag a
        just-stored message, which would let this return before the message was even delivered.
        """
        target = (await self.js.stream_info(USAGE.name)).state.last_seq

        async def settled() -> bool:
            info = await self.js.consumer_info(USAGE.name, USAGE_DURABLE)
            return info.ack_floor is not None and info.ack_floor.stream_seq >= target and not info.num_ack_pending

        await eventually(settled, timeout=within, what=f"the usage consumer to settle up to seq {target}")

    async def last(self, kind: type[S], subject: str) -> S | None:
        """The last message on a state subject, decoded."""
        stream = await self.js.find_stream_name_by_subject(subject)
        try:
            msg = await self.js.get_last_msg(stream, subject)
        except NotFoundError:
            return None
        assert msg.data is not None
        return kind.model_validate_json(msg.data)


@pytest.fixture
async def bus(fresh_nats: Any) -> AsyncIterator[Bus]:
    nc = await nats.connect(fresh_nats.url)
    await ensure_streams(nc.jetstream())
    yield Bus(nc)
    await nc.close()


@pytest.fixture
def client_for() -> Callable[[FastAPI], httpx.AsyncClient]:
    """An HTTP client on an app (in process), sending the admin key."""

    def make(app: FastAPI) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://metering",
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )

    return make

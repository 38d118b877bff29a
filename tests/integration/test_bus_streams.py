"""The stream definitions applied to a real nats-server: idempotent, last-per-subject, de-duplicated, durable."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from tollgate_contracts import ALL_STREAMS, Capability, UsageRecorded
from tollgate_contracts.bus import ensure_streams
from tollgate_contracts.streams import GRANTS, USAGE
from tollgate_servicekit.natsserver import NatsServer

pytestmark = pytest.mark.integration


def usage(request_id: str) -> UsageRecorded:
    return UsageRecorded(
        producer="proxy",
        request_id=request_id,
        grant_id="grt_1",
        tenant_id="tnt_1",
        provider="openai",
        model="gpt-4o-mini",
        capability=Capability.CHAT,
        input_tokens=10,
        output_tokens=5,
        status_code=200,
        started_at=datetime.now(UTC),
        duration_ms=3,
    )


async def test_ensure_streams_is_idempotent_and_creates_every_stream(fresh_nats: NatsServer) -> None:
    nc = await nats.connect(fresh_nats.url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        await ensure_streams(js)
        names = {info.config.name for info in await js.streams_info()}
        assert names == {spec.name for spec in ALL_STREAMS}
    finally:
        await nc.close()


async def test_state_stream_keeps_only_the_last_message_per_subject(fresh_nats: NatsServer) -> None:
    nc = await nats.connect(fresh_nats.url)
    try:
        js = nc.jetstream()
        await ensure_streams(js, (GRANTS,))
        for version in (1, 2, 3):
            await js.publish("grant.state.v1.grt_a", str(version).encode())
        await js.publish("grant.state.v1.grt_b", b"1")
        info = await js.stream_info(GRANTS.name)
        assert info.state.messages == 2
        last = await js.get_last_msg(GRANTS.name, "grant.state.v1.grt_a")
        assert last.data == b"3"
        sub = await js.subscribe(
            "grant.state.v1.>",
            ordered_consumer=True,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.LAST_PER_SUBJECT),
        )
        seen = sorted([(await sub.next_msg(timeout=2)).data for _ in range(2)])
        assert seen == [b"1", b"3"]
    finally:
        await nc.close()


async def test_usage_records_with_the_same_request_id_are_stored_once(fresh_nats: NatsServer) -> None:
    nc = await nats.connect(fresh_nats.url)
    try:
        js = nc.jetstream()
        await ensure_streams(js, (USAGE,))
        record = usage("req_dup")
        for _ in range(3):
            ack = await js.publish(
                record.subject, record.model_dump_json().encode(), headers={"Nats-Msg-Id": "req_dup"}
            )
        assert ack.duplicate
        assert (await js.stream_info(USAGE.name)).state.messages == 1
    finally:
        await nc.close()


async def test_acknowledged_usage_records_survive_a_sigkilled_server(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats").start()
    try:
        async with httpx.AsyncClient() as client:
            varz = (await client.get(f"{server.monitor_url}/varz", timeout=5)).json()
        assert varz["jetstream"]["config"]["sync_always"] is True
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_streams(js, (USAGE,))
        for i in range(50):
            record = usage(f"req_{i}")
            await js.publish(
                record.subject, record.model_dump_json().encode(), headers={"Nats-Msg-Id": record.request_id}
            )
        await nc.close()
        server.kill()
        server.start()
        nc = await nats.connect(server.url)
        info = await nc.jetstream().stream_info(USAGE.name)
        await nc.close()
        assert info.state.messages == 50
    finally:
        server.stop()

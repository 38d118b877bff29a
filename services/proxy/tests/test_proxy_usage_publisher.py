"""The usage publisher's own PubAck handling: only a real PubAck counts; the rest is spooled, never lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.msg import Msg

from tollgate_contracts import UsageRecorded
from tollgate_contracts.bus import ensure_streams
from tollgate_proxy.adapters.bus import Bus
from tollgate_proxy.adapters.usage_publisher import UsagePublisher, acknowledged
from tollgate_proxy.testing import make_usage


def reply(data: bytes, headers: dict[str, str] | None = None) -> Msg:
    return Msg(_client=None, subject="_INBOX.x.1", data=data, headers=headers)  # type: ignore[arg-type]


def test_only_a_pub_ack_counts_as_acknowledged() -> None:
    assert acknowledged(reply(b'{"stream":"TG_USAGE","seq":7}'))
    assert acknowledged(reply(b'{"stream":"TG_USAGE","seq":7,"duplicate":true}'))  # stored by an earlier send
    assert not acknowledged(reply(b'{"error":{"code":503,"err_code":10077,"description":"resource limits"}}'))
    assert not acknowledged(reply(b"", {"Status": "503"}))  # no responders: no stream takes the subject
    assert not acknowledged(reply(b"not json"))
    assert not acknowledged(reply(b"[]"))


@pytest.fixture
async def bus(fresh_nats: Any) -> AsyncIterator[Bus]:
    bus = Bus(fresh_nats.url, name="test")
    connecting = asyncio.create_task(bus.run())
    await bus.connected.wait()
    yield bus
    connecting.cancel()
    await bus.close()


async def test_records_no_stream_takes_are_spooled(bus: Bus, tmp_path: Path) -> None:
    publisher = UsagePublisher(bus, spool_dir=tmp_path, proxy_id="prx_a", publish_timeout=5.0)
    running = asyncio.create_task(publisher.run())
    publisher.submit(make_usage("req_1"))
    publisher.submit(make_usage("req_2"))
    publisher.stop()
    await running
    assert publisher.spooled == 2
    lines = (tmp_path / "usage-prx_a.jsonl").read_bytes().splitlines()
    assert [UsageRecorded.model_validate_json(line).request_id for line in lines] == ["req_1", "req_2"]


async def test_a_burst_bigger_than_a_batch_is_published_whole_and_acked(bus: Bus, tmp_path: Path) -> None:
    assert bus.js is not None
    await ensure_streams(bus.js)
    publisher = UsagePublisher(bus, spool_dir=tmp_path, proxy_id="prx_a")
    running = asyncio.create_task(publisher.run())
    for n in range(150):
        publisher.submit(make_usage(f"req_{n}"))
    await asyncio.sleep(0)
    publisher.submit(make_usage("req_late"))  # while the first batch is in flight
    publisher.stop()
    await running
    assert publisher.spooled == 0
    assert (await bus.js.stream_info("TG_USAGE")).state.messages == 151


async def test_the_spool_is_owner_only(bus: Bus, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    publisher = UsagePublisher(bus, spool_dir=spool, proxy_id="prx_a")
    publisher._spool([b'{"request_id": "req_1"}'])
    [file] = spool.glob("usage-*.jsonl")
    assert (spool.stat().st_mode & 0o777, file.stat().st_mode & 0o777) == (0o700, 0o600)

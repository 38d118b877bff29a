"""`Bus` against a real nats-server: PubAck round trip, de-duplication, request/reply, retrying connect,
redaction, and `BusUnavailable` whenever the server is not there."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tollgate_contracts import AuditEvent
from tollgate_contracts.streams import ALL_STREAMS
from tollgate_servicekit.errors import BusUnavailable
from tollgate_servicekit.nats import Bus
from tollgate_servicekit.natsserver import NatsServer
from tollgate_servicekit.tcp import free_port
from tollgate_servicekit.testing import eventually

PASSWORD = "hunter2-" + "nats-password"


def audit() -> AuditEvent:
    return AuditEvent(producer="servicekit-test", service="servicekit", action="test.done", actor="tester")


async def test_publish_without_a_connection_is_bus_unavailable() -> None:
    bus = Bus("nats://127.0.0.1:1", name="test")
    with pytest.raises(BusUnavailable, match="not connected"):
        await bus.publish(audit())
    with pytest.raises(BusUnavailable):
        await bus.request("x", b"", timeout=0.1)
    with pytest.raises(BusUnavailable):
        await bus.ensure_streams()
    assert not bus.is_connected
    await bus.close()  # closing what never opened is fine


def test_inbox_prefix_follows_the_user() -> None:
    assert Bus("nats://h", name="n", user="proxy").inbox_prefix == "_INBOX.proxy"
    assert Bus("nats://h", name="n").inbox_prefix == "_INBOX"
    assert Bus("nats://h", name="n", user="proxy", inbox_prefix="_R.p").inbox_prefix == "_R.p"


async def test_publish_round_trip_waits_for_the_puback_and_dedupes_by_msg_id(fresh_nats: NatsServer) -> None:
    bus = Bus(fresh_nats.url, name="servicekit-test")
    await bus.connect()
    try:
        await bus.ensure_streams(ALL_STREAMS)
        event = audit()
        first = await bus.publish(event)
        assert first.seq >= 1 and not first.duplicate
        again = await bus.publish(event)  # same event id → the server drops the copy
        assert again.duplicate and again.seq == first.seq
        other = await bus.publish(event, msg_id="another-id")
        assert not other.duplicate and other.seq == first.seq + 1
        stored = await bus.js.get_msg(first.stream, first.seq)
        assert AuditEvent.model_validate_json(stored.data or b"").event_id == event.event_id
        with pytest.raises(BusUnavailable, match=r"no PubAck for nowhere\.v1"):
            await bus.publish_raw("nowhere.v1", b"{}")  # no stream holds this subject
    finally:
        await bus.close()
    assert not bus.is_connected
    with pytest.raises(BusUnavailable):
        await bus.publish(audit())


async def test_wait_for_streams_names_the_first_missing_stream_until_it_exists(fresh_nats: NatsServer) -> None:
    wanted = ALL_STREAMS[:2]
    bus = Bus(fresh_nats.url, name="servicekit-test")
    with pytest.raises(BusUnavailable, match="not connected"):
        await bus.wait_for_streams(wanted)
    await bus.connect()
    try:
        with pytest.raises(BusUnavailable, match=f"stream {wanted[0].name} does not exist yet"):
            await bus.wait_for_streams(wanted)
        await bus.ensure_streams(wanted[:1])
        with pytest.raises(BusUnavailable, match=f"stream {wanted[1].name} does not exist yet"):
            await bus.wait_for_streams(wanted)
        await bus.ensure_streams(wanted)
        await bus.wait_for_streams(wanted)
    finally:
        await bus.close()


async def test_ping_settings_reach_the_client(fresh_nats: NatsServer) -> None:
    bus = Bus(fresh_nats.url, name="test", ping_interval=3, max_outstanding_pings=1)
    await bus.connect()
    try:
        assert (bus.nc.options["ping_interval"], bus.nc.options["max_outstanding_pings"]) == (3, 1)
    finally:
        await bus.close()


async def test_request_reply_and_no_responders(fresh_nats: NatsServer) -> None:
    bus = Bus(fresh_nats.url, name="servicekit-test")
    await bus.connect()
    try:

        async def echo(msg: object) -> None:
            await msg.respond(b"pong:" + msg.data)  # type: ignore[attr-defined]

        await bus.nc.subscribe("svc.echo", cb=echo)
        assert await bus.request("svc.echo", b"ping", timeout=2.0) == b"pong:ping"
        with pytest.raises(BusUnavailable, match=r"nobody answers svc\.silent"):
            await bus.request("svc.silent", b"", timeout=0.5)
    finally:
        await bus.close()


@pytest.mark.integration  # starts its own nats-server
async def test_connect_retries_until_the_server_answers_and_never_logs_the_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    bus = Bus(f"nats://harness:{PASSWORD}@127.0.0.1:{port}", name="servicekit-test", reconnect_time_wait=0.05)
    connecting = asyncio.create_task(bus.connect())
    await eventually(lambda: "NATS nats://***@127.0.0.1" in caplog.text, what="a failed attempt to be logged")
    assert not connecting.done()
    with NatsServer(tmp_path / "nats", port=port, passwords={"harness": PASSWORD}):  # a locked server
        await asyncio.wait_for(connecting, 10)
        assert bus.is_connected
        await bus.close()
    attempts = caplog.text.count("ConnectionRefusedError") + caplog.text.count("OSError")
    assert attempts <= 2, "one line per kind of failure, not one per retry"
    assert PASSWORD not in caplog.text and "hunter2" not in caplog.text


async def test_cancelling_connect_gives_up_cleanly(caplog: pytest.LogCaptureFixture) -> None:
    bus = Bus(f"nats://127.0.0.1:{free_port()}", name="servicekit-test", user="svc", password=PASSWORD)
    connecting = asyncio.create_task(bus.connect())
    await asyncio.sleep(0.1)
    connecting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await connecting
    assert not bus.is_connected
    assert "hunter2" not in caplog.text


@pytest.mark.integration  # starts its own nats-server
async def test_reconnect_sets_the_event_and_runs_the_hooks(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats").start()
    bus = Bus(server.url, name="servicekit-test", reconnect_time_wait=0.05)
    hooked: list[str] = []

    async def resync() -> None:
        await bus.ensure_streams(ALL_STREAMS)  # hooks may use the bus: they run beside nats-py's loop
        hooked.append("async")

    bus.on_reconnect(resync)
    bus.on_reconnect(lambda: hooked.append("sync"))
    try:
        await bus.connect()
        server.stop()
        await eventually(lambda: not bus.is_connected, what="the disconnect")
        server.start()
        await eventually(bus.reconnected.is_set, what="the reconnect")
        await eventually(lambda: sorted(hooked) == ["async", "sync"], what="both hooks")
    finally:
        await bus.close()
        server.stop()


async def test_last_error_says_why_connect_is_still_waiting() -> None:
    bus = Bus(f"nats://svc:{PASSWORD}@127.0.0.1:{free_port()}", name="servicekit-test", reconnect_time_wait=0.05)
    connecting = asyncio.create_task(bus.connect())
    try:
        why = await eventually(lambda: bus.last_error, what="the first failed attempt")
        assert "hunter2" not in why
    finally:
        connecting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await connecting

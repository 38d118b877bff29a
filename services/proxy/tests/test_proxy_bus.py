"""The proxy and the bus: hydration before readiness, live policy, failing closed, usage never lost."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import nats
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from tollgate_contracts import GrantStatus, UsageRecorded
from tollgate_contracts.bus import ensure_streams
from tollgate_proxy.adapters.bus import Bus
from tollgate_proxy.adapters.usage_publisher import UsagePublisher
from tollgate_proxy.testing import make_usage
from tollgate_servicekit.testing import eventually

MESSAGES: list[Any] = [{"role": "user", "content": "Say hello"}]


async def stored_usage(js: Any) -> list[tuple[UsageRecorded, str]]:
    """Every record in TG_USAGE, read through a fresh consumer."""
    info = await js.stream_info("TG_USAGE")
    if info.state.messages == 0:
        return []
    sub = await js.pull_subscribe(
        UsageRecorded.subject_prefix, stream="TG_USAGE", config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    )
    msgs = await sub.fetch(info.state.messages, timeout=5)
    await sub.unsubscribe()
    return [(UsageRecorded.model_validate_json(m.data), m.headers["Nats-Msg-Id"]) for m in msgs]


async def readyz(url: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as http:
        return await http.get("/readyz")


async def chat(stack: Any) -> httpx.Response:
    """One chat completion with the stack's OpenAI grant token."""
    async with httpx.AsyncClient(base_url=stack.url) as http:
        return await http.post(
            "/v1/chat/completions",
            headers={"authorization": f"Bearer {stack.token()}"},
            json={"model": "gpt-4o-mini", "messages": MESSAGES},
        )


async def test_the_proxy_is_not_ready_until_the_streams_exist_and_are_replayed(bare_stack: Any) -> None:
    stack = bare_stack
    await stack.start_proxy(wait_ready=False)
    response = await readyz(stack.url)
    assert response.status_code == 503
    assert response.json()["status"] == "starting"
    refused = await chat(stack)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "policy_stale"

    await ensure_streams(stack.js)
    for version in (1, 2, 3):  # only the last state per grant is replayed, and it wins
        await stack.publish(stack.grant(grant_id="grt_replayed", state_version=version, app_name=f"v{version}"))
    await eventually(stack.ready, what="hydration")
    assert (await readyz(stack.url)).json() == {"status": "ready"}
    assert stack.app.runtime.cache.grants["grt_replayed"].app_name == "v3"


async def test_state_published_before_start_is_there_when_ready(bare_stack: Any) -> None:
    stack = bare_stack
    await ensure_streams(stack.js)
    await stack.publish(stack.signer.state())
    await stack.publish(stack.grant(state_version=4, status=GrantStatus.REVOKED))
    await stack.start_proxy()
    cache = stack.app.runtime.cache
    assert cache.grants["grt_1"].state_version == 4
    assert stack.signer.kid in cache.verification_keys

    await stack.publish(stack.grant(state_version=2))  # an older state arriving later changes nothing
    await stack.publish(stack.grant(grant_id="grt_marker"))
    await eventually(lambda: "grt_marker" in cache.grants, what="the live update")
    assert cache.grants["grt_1"].status is GrantStatus.REVOKED


async def test_forged_state_from_another_producer_or_for_another_subject_changes_nothing(stack: Any) -> None:
    cache = stack.app.runtime.cache
    revoked = stack.grant(grant_id=stack.OPENAI_GRANT, state_version=5, status=GrantStatus.REVOKED)
    await stack.publish(revoked)
    await eventually(lambda: cache.grants[stack.OPENAI_GRANT].state_version == 5, what="the revocation")
    forged = revoked.model_copy(update={"state_version": 50, "status": GrantStatus.ACTIVE, "producer": "metering"})
    await stack.publish(forged)
    # A grant's state put on another grant's subject: it must not replace that grant either.
    elsewhere = revoked.model_copy(update={"state_version": 60, "status": GrantStatus.ACTIVE})
    await stack.js.publish(f"grant.state.v1.{stack.ANTHROPIC_GRANT}", elsewhere.model_dump_json().encode())
    await stack.publish(stack.grant(grant_id="grt_marker"))
    await eventually(lambda: "grt_marker" in cache.grants, what="the marker after the forgeries")
    assert cache.grants[stack.OPENAI_GRANT].state_version == 5
    assert cache.grants[stack.ANTHROPIC_GRANT].state_version == 1
    assert cache.foreign_states == 1 and stack.app.runtime.follower.mismatched == 1
    refused = await chat(stack)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "grant_revoked"


async def test_a_crashed_background_task_is_logged_with_its_traceback_and_fails_readiness(
    stack: Any, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = stack.app.runtime

    async def crash() -> None:
        raise RuntimeError("the follower's invariant broke")

    with caplog.at_level(logging.ERROR):
        runtime.tasks.spawn("policy-follower-2", crash)
        await eventually(lambda: runtime.tasks.failure() is not None, what="the crash to be recorded")
    # One record: the task's name, its traceback frames, the (redacted) error.
    assert "background task policy-follower-2 crashed" in caplog.text and ", in crash" in caplog.text
    response = await readyz(stack.url)
    assert response.status_code == 503
    assert "policy-follower-2 crashed: RuntimeError" in response.json()["detail"]
    refused = await chat(stack)
    assert refused.status_code == 503
    assert "invariant" not in refused.text  # the task's error is for the operator, not for API clients


async def test_a_proxy_that_loses_the_bus_fails_closed_after_the_staleness_window(bare_stack: Any) -> None:
    stack = bare_stack
    await ensure_streams(stack.js)
    await stack.start_proxy(staleness_seconds=0.5)
    assert (await readyz(stack.url)).status_code == 200
    stack.nats_server.kill()
    runtime = stack.app.runtime
    await eventually(lambda: runtime.readiness.detail() is not None, what="the proxy to notice")
    response = await readyz(stack.url)
    assert response.status_code == 503
    assert "staleness" in response.json()["detail"]
    async with httpx.AsyncClient(base_url=stack.url) as http:
        refused = await http.post(
            "/v1/messages",
            headers={"x-api-key": stack.token(stack.ANTHROPIC_GRANT)},
            json={"model": "claude-3-5-haiku-latest", "messages": MESSAGES, "max_tokens": 8},
        )
    assert refused.status_code == 503
    assert refused.json()["type"] == "error"
    assert refused.headers["retry-after"] == "5"


async def test_usage_recorded_while_the_bus_is_down_is_spooled_and_sent_once_it_is_back(stack: Any) -> None:
    client = stack.openai()
    await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)  # the provider key is now cached
    await stack.usage_records(1)

    stack.nats_server.kill()
    runtime = stack.app.runtime
    await eventually(lambda: not runtime.bus.nc.is_connected, what="the proxy to see the bus go")
    raw = await client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.parse().choices[0].message.content == stack.REPLY  # served from the cache meanwhile
    await eventually(lambda: runtime.publisher.spooled == 1, what="the record to be spooled")
    spooled = list((stack.tmp_path / "spool").glob("usage-*.jsonl"))
    assert len(spooled) == 1
    assert json.loads(spooled[0].read_text())["request_id"] == raw.headers["x-tollgate-request-id"]

    stack.nats_server.start()
    spool = stack.tmp_path / "spool"
    await eventually(lambda: not list(spool.glob("usage-*")), what="the spool to drain", timeout=20)
    nc = await nats.connect(stack.nats_server.url)
    try:
        records = await stored_usage(nc.jetstream())
    finally:
        await nc.close()
    assert len(records) == 2
    late, msg_id = records[1]
    assert msg_id == late.request_id == raw.headers["x-tollgate-request-id"]
    assert (late.input_tokens, late.output_tokens) == (len("Say hello"), 4)


async def test_a_resent_record_is_stored_once(fresh_nats: Any, tmp_path: Any) -> None:
    bus = Bus(fresh_nats.url, name="test")
    connecting = asyncio.create_task(bus.run())
    await bus.connected.wait()
    assert bus.js is not None
    await ensure_streams(bus.js)
    publisher = UsagePublisher(bus, spool_dir=tmp_path, proxy_id="prx_a")
    record = make_usage("req_once")
    running = asyncio.create_task(publisher.run())
    publisher.submit(record)
    publisher.stop()
    await running  # stop() lets what was queued be published first
    # The same record spooled by an earlier run of this replica (another proxy id), e.g. after a lost PubAck.
    (tmp_path / "usage-prx_old.jsonl").write_text(record.model_dump_json() + "\n")
    assert await publisher.resend_spool() == 1
    assert list(tmp_path.glob("usage-*")) == []
    stored = await stored_usage(bus.js)
    assert [(r.request_id, msg_id) for r, msg_id in stored] == [("req_once", "req_once")]
    connecting.cancel()
    await bus.close()

"""The service against a real nats-server and a real database (SQLite and PostgreSQL): counting exactly once
across duplicates, redeliveries, restarts and replicas; budget and price state on the bus; poison messages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tollgate_contracts import BudgetState, PriceState, new_id
from tollgate_metering.adapters.db import SqlStore, prepare
from tollgate_metering.app import create_app
from tollgate_metering.domain.pricing import builtin_table
from tollgate_metering.domain.usage import LedgerEntry
from tollgate_metering.settings import PriceSetting, Settings
from tollgate_metering.testing import grant_state, serving, usage_recorded
from tollgate_servicekit.sql import Database
from tollgate_servicekit.testing import FixedClock

pytestmark = pytest.mark.integration

Client = Callable[[FastAPI], httpx.AsyncClient]

# gpt-4o-mini at $0.15 / $0.60 per million tokens: 100 input + 50 output tokens = 15 + 30 micro-dollars.
COST = 45


async def usage_of(client: httpx.AsyncClient, grant_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/usage/{grant_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_duplicates_and_resends_are_counted_once(settings: Settings, bus: Any, client_for: Client) -> None:
    grant = grant_state(budget_micro_usd=5_000_000)
    await bus.publish(grant)
    first, second = usage_recorded(grant.grant_id), usage_recorded(grant.grant_id, input_tokens=1_000)
    app = create_app(settings)
    async with serving(app), client_for(app) as client:
        await bus.publish_usage(first)
        await bus.publish_usage(first)  # same Nats-Msg-Id: JetStream drops it
        await bus.publish_usage(first, msg_id=new_id("msg"))  # a re-send under another id: the ledger drops it
        await bus.publish_usage(second)
        await bus.drained()
        usage = await usage_of(client, grant.grant_id)
    assert usage == {
        "grant_id": grant.grant_id,
        "requests": 2,
        "input_tokens": 1_100,
        "output_tokens": 100,
        "cost_micro_usd": COST + 150 + 30,
        "cost_usd": "0.000225",
        "budget_micro_usd": 5_000_000,
        "max_requests": None,
        "exhausted": False,
        "grant_known": True,
    }
    assert (await bus.js.stream_info("TG_USAGE")).state.messages == 3


async def test_spending_past_the_budget_publishes_an_exhausted_budget_state(
    settings: Settings, bus: Any, client_for: Client
) -> None:
    grant = grant_state(budget_micro_usd=100)
    app = create_app(settings)
    async with serving(app), client_for(app) as client:
        await bus.publish(grant)  # live, after the replay
        for _ in range(2):
            await bus.publish_usage(usage_recorded(grant.grant_id))
        await bus.drained()
        before = await bus.last(BudgetState, f"budget.state.v1.{grant.grant_id}")
        await bus.publish_usage(usage_recorded(grant.grant_id))
        await bus.drained()
        after = await bus.last(BudgetState, f"budget.state.v1.{grant.grant_id}")
        usage = await usage_of(client, grant.grant_id)
    assert before is not None and not before.exhausted and before.spent_micro_usd == 2 * COST
    assert after is not None and after.exhausted
    assert (after.spent_micro_usd, after.limit_micro_usd, after.requests) == (3 * COST, 100, 3)
    assert after.state_version > before.state_version
    assert after.producer == "metering"
    assert usage["exhausted"] is True


async def test_a_new_grant_gets_a_budget_state_before_any_usage(settings: Settings, bus: Any) -> None:
    grant = grant_state(budget_micro_usd=0)
    await bus.publish(grant)
    async with serving(create_app(settings)):
        pass
    state = await bus.last(BudgetState, f"budget.state.v1.{grant.grant_id}")
    assert state is not None and state.exhausted and state.requests == 0


async def test_a_restarted_app_does_not_count_again(settings: Settings, bus: Any, client_for: Client) -> None:
    grant = grant_state()
    await bus.publish(grant)
    records = [usage_recorded(grant.grant_id) for _ in range(3)]
    first_app = create_app(settings)
    async with serving(first_app):
        for record in records:
            await bus.publish_usage(record)
        await bus.drained()
    # Published while no metering runs: the durable consumer keeps them for the next start.
    await bus.publish_usage(records[0], msg_id=new_id("msg"))
    await bus.publish_usage(usage_recorded(grant.grant_id))
    second_app = create_app(settings)
    async with serving(second_app), client_for(second_app) as client:
        await bus.drained()
        usage = await usage_of(client, grant.grant_id)
    assert (usage["requests"], usage["cost_micro_usd"]) == (4, 4 * COST)


async def test_a_record_committed_but_never_acknowledged_is_not_counted_twice(
    settings: Settings, bus: Any, client_for: Client
) -> None:
    record = usage_recorded("grt_crashed")
    await bus.publish_usage(record)
    # As if a replica had committed the record and died before its ack: the message is still on the stream.
    database = Database(settings.database_url, settings.database_schema)
    await prepare(database)
    await SqlStore(database).record(LedgerEntry.price(record, builtin_table(), FixedClock().now()))
    await database.dispose()
    app = create_app(settings)
    async with serving(app), client_for(app) as client:
        await bus.drained()
        usage = await usage_of(client, "grt_crashed")
    assert usage["requests"] == 1


async def test_usage_for_a_grant_never_created_is_counted_flagged_logged_and_shown(
    settings: Settings, bus: Any, client_for: Client, caplog: pytest.LogCaptureFixture
) -> None:
    grant = grant_state()
    await bus.publish(grant)
    app = create_app(settings)
    with caplog.at_level(logging.WARNING, logger="tollgate_metering"):
        async with serving(app), client_for(app) as client:
            for grant_id in (grant.grant_id, "grt_never_created", "grt_never_created"):
                await bus.publish_usage(usage_recorded(grant_id))
            await bus.drained()
            ghost, real = await usage_of(client, "grt_never_created"), await usage_of(client, grant.grant_id)
            unknown = (await client.get("/v1/unknown-grants")).json()
    assert (ghost["requests"], ghost["cost_micro_usd"], ghost["grant_known"]) == (2, 2 * COST, False)
    assert (real["requests"], real["grant_known"]) == (1, True)
    assert unknown == {
        "grants": 1,
        "requests": 2,
        "cost_micro_usd": 2 * COST,
        "cost_usd": "0.000090",
        "grant_ids": ["grt_never_created"],
    }
    warned = [r.getMessage() for r in caplog.records if "no grant state" in r.getMessage()]
    assert warned and all("grt_never_created" in line for line in warned)
    assert "test-admin-key-for-metering" not in caplog.text


async def test_poison_messages_are_terminated_and_the_consumer_goes_on(
    settings: Settings, bus: Any, client_for: Client, caplog: pytest.LogCaptureFixture
) -> None:
    grant = grant_state()
    await bus.publish(grant)
    await bus.publish_raw("usage.recorded.v1", b"not json at all")
    await bus.publish_raw("usage.recorded.v1", b'{"request_id": "req_incomplete"}')
    await bus.publish_usage(usage_recorded(grant.grant_id))
    app = create_app(settings)
    with caplog.at_level(logging.ERROR, logger="tollgate_metering"):
        async with serving(app), client_for(app) as client:
            await bus.drained()
            await bus.publish_raw("usage.recorded.v1", b"\xff\xfe")
            await bus.publish_usage(usage_recorded(grant.grant_id))
            await bus.drained()
            usage = await usage_of(client, grant.grant_id)
    assert usage["requests"] == 2
    poison = [r for r in caplog.records if "poison" in r.getMessage()]
    assert len(poison) == 3
    assert all(r.levelno == logging.ERROR for r in poison)


async def test_an_implausible_record_is_terminated_without_holding_back_its_batch(
    settings: Settings, bus: Any, client_for: Client, caplog: pytest.LogCaptureFixture
) -> None:
    grant = grant_state()
    await bus.publish(grant)
    await bus.publish_usage(usage_recorded(grant.grant_id))
    await bus.publish_usage(usage_recorded(grant.grant_id, input_tokens=10**13))
    await bus.publish_usage(usage_recorded(grant.grant_id))
    app = create_app(settings)
    with caplog.at_level(logging.ERROR, logger="tollgate_metering"):
        async with serving(app), client_for(app) as client:
            await bus.drained()
            usage = await usage_of(client, grant.grant_id)
    assert (usage["requests"], usage["input_tokens"]) == (2, 200)
    assert any("implausible" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


async def test_two_replicas_share_the_stream_and_count_every_record_once(
    settings: Settings, bus: Any, client_for: Client
) -> None:
    grant = grant_state()
    await bus.publish(grant)
    records = [usage_recorded(grant.grant_id, input_tokens=i) for i in range(200)]
    first, second = create_app(settings), create_app(settings)
    async with serving(first), serving(second), client_for(second) as client:
        for record in records:
            await bus.publish_usage(record)
        for record in records[::10]:  # re-sent under new message ids: reach the ledger, dropped there
            await bus.publish_usage(record, msg_id=new_id("msg"))
        await bus.drained()
        usage = await usage_of(client, grant.grant_id)
    expected_cost = sum(builtin_table().cost("openai", "gpt-4o-mini", r.input_tokens, 50) for r in records)
    assert (usage["requests"], usage["input_tokens"], usage["cost_micro_usd"]) == (200, sum(range(200)), expected_cost)


async def test_the_newest_grant_state_wins_over_a_late_older_one(
    settings: Settings, bus: Any, client_for: Client
) -> None:
    grant_id = new_id("grt")
    await bus.publish(grant_state(grant_id, version=1, budget_micro_usd=100))
    await bus.publish(grant_state(grant_id, version=3, budget_micro_usd=300))
    app = create_app(settings)
    async with serving(app), client_for(app) as client:
        assert (await usage_of(client, grant_id))["budget_micro_usd"] == 300
        await bus.publish(grant_state(grant_id, version=2, budget_micro_usd=200))
        await bus.publish(grant_state(grant_id, version=4, max_requests=7))
        state = await _budget_state_with_version_above(bus, grant_id, 1)
        usage = await usage_of(client, grant_id)
    assert (usage["budget_micro_usd"], usage["max_requests"]) == (None, 7)
    assert state.max_requests == 7


async def _budget_state_with_version_above(bus: Any, grant_id: str, version: int) -> BudgetState:
    """The grant's BudgetState once metering has published past `version` (caps changed live)."""
    sub = await bus.js.subscribe(f"budget.state.v1.{grant_id}", ordered_consumer=True)
    try:
        async with asyncio.timeout(30):
            async for msg in sub.messages:
                state = BudgetState.model_validate_json(msg.data)
                if state.state_version > version:
                    return state
    finally:
        await sub.unsubscribe()
    raise AssertionError("subscription ended")


async def test_prices_are_published_at_start_and_versioned_by_change(settings: Settings, bus: Any) -> None:
    subject = "price.state.v1.openai.gpt-4o-mini*"
    async with serving(create_app(settings)):
        pass
    first = await bus.last(PriceState, subject)
    changed = settings.model_copy(
        update={
            "prices": [
                PriceSetting(
                    provider="openai", model="gpt-4o-mini*", input_micro_usd_per_mtok=1, output_micro_usd_per_mtok=2
                )
            ]
        }
    )
    async with serving(create_app(changed)):
        pass
    second = await bus.last(PriceState, subject)
    fallback = await bus.last(PriceState, "price.state.v1._fallback._fallback")
    assert first is not None and (first.state_version, first.input_micro_usd_per_mtok) == (1, 150_000)
    assert second is not None and (second.state_version, second.input_micro_usd_per_mtok) == (2, 1)
    assert fallback is not None and fallback.output_micro_usd_per_mtok == 75_000_000

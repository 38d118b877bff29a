"""The SQL store on SQLite and PostgreSQL: exactly-once counting, atomic totals, newest caps, price versions."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tollgate_contracts import new_id
from tollgate_metering.adapters.db import LEDGER, SqlStore
from tollgate_metering.domain.budget import Limits
from tollgate_metering.domain.errors import InvalidUsage
from tollgate_metering.domain.pricing import Price, PriceRule
from tollgate_metering.domain.usage import LedgerEntry

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def entry(
    grant_id: str = "grt_1", request_id: str | None = None, tokens: tuple[int, int] = (10, 20), cost: int = 7
) -> LedgerEntry:
    return LedgerEntry(
        request_id=request_id or new_id("req"),
        event_id=new_id("evt"),
        grant_id=grant_id,
        tenant_id="tnt_1",
        provider="openai",
        model="gpt-4o-mini",
        capability="chat",
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cost_micro_usd=cost,
        estimated=False,
        streamed=True,
        status_code=200,
        started_at=NOW,
        duration_ms=5,
        recorded_at=NOW,
    )


async def test_the_same_request_id_recorded_twice_counts_once(store: SqlStore) -> None:
    first = entry(request_id="req_same")
    assert await store.record(first)
    assert not await store.record(replace(first, event_id="evt_other", input_tokens=999, cost_micro_usd=999))
    account = await store.account("grt_1")
    assert account is not None
    assert (account.totals.requests, account.totals.input_tokens, account.totals.cost_micro_usd) == (1, 10, 7)


async def test_200_concurrent_distinct_records_are_all_counted(store: SqlStore) -> None:
    entries = [entry(tokens=(i, 2 * i), cost=i + 1) for i in range(200)]
    results = await asyncio.gather(*(store.record(e) for e in entries))
    assert all(results)
    account = await store.account("grt_1")
    assert account is not None
    assert account.totals.requests == 200
    assert account.totals.input_tokens == sum(range(200))
    assert account.totals.output_tokens == 2 * sum(range(200))
    assert account.totals.cost_micro_usd == sum(range(1, 201))
    assert account.version == 200


async def test_concurrent_copies_of_one_record_count_once(store: SqlStore) -> None:
    copy = entry(request_id="req_racing")
    results = await asyncio.gather(*(store.record(copy) for _ in range(30)))
    assert results.count(True) == 1
    account = await store.account("grt_1")
    assert account is not None and account.totals.requests == 1


async def test_grants_are_counted_apart(store: SqlStore) -> None:
    await asyncio.gather(*(store.record(entry(grant_id=f"grt_{i % 3}")) for i in range(30)))
    for grant in ("grt_0", "grt_1", "grt_2"):
        account = await store.account(grant)
        assert account is not None and account.totals.requests == 10


async def test_an_unknown_grant_has_no_account(store: SqlStore) -> None:
    assert await store.account("grt_never") is None


async def test_only_a_newer_grant_version_changes_the_caps(store: SqlStore) -> None:
    assert await store.apply_limits("grt_1", "tnt_1", Limits(budget_micro_usd=300, max_requests=3), 3)
    assert not await store.apply_limits("grt_1", "tnt_1", Limits(budget_micro_usd=200), 2)
    assert not await store.apply_limits("grt_1", "tnt_1", Limits(budget_micro_usd=200), 3)
    account = await store.account("grt_1")
    assert account is not None
    assert account.limits == Limits(budget_micro_usd=300, max_requests=3)
    assert account.grant_version == 3
    assert await store.apply_limits("grt_1", "tnt_1", Limits(budget_micro_usd=None), 4)
    account = await store.account("grt_1")
    assert account is not None and account.limits == Limits()


async def test_usage_seen_before_the_grant_keeps_its_totals_when_the_caps_arrive(store: SqlStore) -> None:
    await store.record(entry(cost=50))
    assert await store.apply_limits("grt_1", "tnt_1", Limits(budget_micro_usd=40), 1)
    account = await store.account("grt_1")
    assert account is not None
    assert account.totals.cost_micro_usd == 50
    assert account.exhausted


async def test_every_change_raises_the_account_version(store: SqlStore) -> None:
    versions = []

    async def note_version() -> None:
        account = await store.account("grt_1")
        assert account is not None
        versions.append(account.version)

    await store.apply_limits("grt_1", "tnt_1", Limits(budget_micro_usd=100), 1)
    await note_version()
    await store.record(entry())
    await note_version()
    await store.apply_limits("grt_1", "tnt_1", Limits(budget_micro_usd=200), 2)
    await note_version()
    await store.record(entry())
    await note_version()
    assert versions == sorted(set(versions))


async def test_a_price_version_rises_only_when_the_price_changes(store: SqlStore) -> None:
    rules = [PriceRule("openai", "gpt-4o*", Price(1, 2)), PriceRule("anthropic", "claude-*", Price(3, 4))]
    assert [v.version for v in await store.sync_prices(rules)] == [1, 1]
    assert [v.version for v in await store.sync_prices(rules)] == [1, 1]
    changed = [PriceRule("openai", "gpt-4o*", Price(1, 5)), rules[1]]
    synced = await store.sync_prices(changed)
    assert [(v.rule, v.version) for v in synced] == [(changed[0], 2), (changed[1], 1)]


async def test_a_batch_counts_each_new_request_once_and_skips_the_rest(store: SqlStore) -> None:
    old = entry(request_id="req_old", cost=1)
    await store.record(old)
    batch = [entry(request_id="req_a", cost=10), old, entry(request_id="req_a", cost=99), entry("grt_2", cost=5)]
    assert (await store.record_many(batch)).counted == [True, False, False, True]
    first, second = await store.account("grt_1"), await store.account("grt_2")
    assert first is not None and (first.totals.requests, first.totals.cost_micro_usd) == (2, 11)
    assert second is not None and (second.totals.requests, second.totals.cost_micro_usd) == (1, 5)


async def test_concurrent_batches_with_overlapping_requests_count_each_once(store: SqlStore) -> None:
    entries = [entry(grant_id=f"grt_{i % 4}", request_id=f"req_{i:03}", cost=1) for i in range(120)]
    # Each batch overlaps its neighbours, in a different order: what two replicas see after redeliveries.
    batches = [entries[start : start + 40][:: 1 if start % 20 else -1] for start in range(0, 100, 10)]
    await asyncio.gather(*(store.record_many(batch) for batch in batches))
    accounts = [await store.account(f"grt_{g}") for g in range(4)]
    assert sum(a.totals.requests for a in accounts if a is not None) == 120
    assert sum(a.totals.cost_micro_usd for a in accounts if a is not None) == 120


async def test_data_the_database_cannot_hold_is_refused_as_invalid_and_nothing_of_its_batch_is_kept(
    store: SqlStore,
) -> None:
    with pytest.raises(InvalidUsage):
        await store.record_many([entry(request_id="req_fine"), entry(request_id="req_huge", tokens=(10**19, 0))])
    assert await store.account("grt_1") is None
    assert await store.record(entry(request_id="req_fine"))


async def _flags(store: SqlStore) -> dict[str, bool]:
    async with store.database.engine.connect() as conn:
        rows = await conn.execute(select(LEDGER.c.request_id, LEDGER.c.unknown_grant))
        return {row.request_id: row.unknown_grant for row in rows}


async def test_usage_for_a_grant_never_created_is_counted_and_flagged(store: SqlStore) -> None:
    await store.apply_limits("grt_known", "tnt_1", Limits(budget_micro_usd=100), 1)
    batch = [entry("grt_known", "req_a"), entry("grt_ghost", "req_b", cost=3), entry("grt_ghost", "req_c", cost=4)]
    recorded = await store.record_many(batch)
    assert recorded.counted == [True, True, True]
    assert [e.request_id for e in recorded.unknown] == ["req_b", "req_c"]
    assert await _flags(store) == {"req_a": False, "req_b": True, "req_c": True}
    ghost = await store.account("grt_ghost")
    assert ghost is not None and not ghost.grant_known and ghost.totals.cost_micro_usd == 7
    # A redelivery counts nothing and reports nothing again.
    again = await store.record_many(batch)
    assert again.counted == [False, False, False] and again.unknown == []
    unknown = await store.unknown_grants(limit=10)
    assert (unknown.grants, unknown.requests, unknown.cost_micro_usd, unknown.grant_ids) == (1, 2, 7, ["grt_ghost"])


async def test_a_grant_whose_state_arrives_late_stops_being_unknown_but_its_early_rows_stay_flagged(
    store: SqlStore,
) -> None:
    await store.record(entry("grt_late", "req_early"))
    await store.apply_limits("grt_late", "tnt_1", Limits(), 1)
    await store.record(entry("grt_late", "req_after"))
    assert await _flags(store) == {"req_early": True, "req_after": False}
    account = await store.account("grt_late")
    assert account is not None and account.grant_known and account.totals.requests == 2
    unknown = await store.unknown_grants(limit=10)
    assert (unknown.grants, unknown.requests, unknown.grant_ids) == (0, 0, [])


async def test_unknown_grants_are_listed_up_to_the_limit(store: SqlStore) -> None:
    await store.record_many([entry(f"grt_{i}", cost=1) for i in range(5)])
    unknown = await store.unknown_grants(limit=2)
    assert (unknown.grants, unknown.requests, unknown.cost_micro_usd) == (5, 5, 5)
    assert unknown.grant_ids == ["grt_0", "grt_1"]

"""The use cases over the in-memory fakes of `tollgate_metering.testing`."""

from __future__ import annotations

import logging

import pytest

from tollgate_contracts import BudgetState, PriceState, StateEvent
from tollgate_metering.domain.errors import GrantNotFound
from tollgate_metering.domain.pricing import Price, PriceRule, builtin_table
from tollgate_metering.service import FALLBACK_KEY, Metering
from tollgate_metering.testing import MemoryStore, RecordingPublisher, grant_state, usage_recorded
from tollgate_servicekit.testing import FixedClock


def make(store: MemoryStore | None = None, publisher: RecordingPublisher | None = None) -> Metering:
    return Metering(store or MemoryStore(), publisher or RecordingPublisher(), builtin_table(), FixedClock())


async def test_metering_prices_usage_itself_and_ignores_the_proxys_cost() -> None:
    metering = make()
    record = usage_recorded("grt_1", input_tokens=1_000, output_tokens=500).model_copy(update={"cost_micro_usd": 1})
    assert await metering.record(record)
    account = await metering.usage("grt_1")
    assert account.totals.cost_micro_usd == 450  # gpt-4o-mini: 1000 * 0.15 + 500 * 0.60
    assert (account.totals.requests, account.totals.input_tokens, account.totals.output_tokens) == (1, 1_000, 500)


async def test_a_repeated_request_id_changes_nothing() -> None:
    metering = make()
    record = usage_recorded("grt_1")
    assert await metering.record(record)
    assert not await metering.record(record.model_copy(update={"event_id": "evt_other"}))
    assert (await metering.usage("grt_1")).totals.requests == 1


async def test_an_unknown_grant_is_not_found() -> None:
    with pytest.raises(GrantNotFound):
        await make().usage("grt_nobody")


async def test_a_grant_with_no_usage_has_zero_totals() -> None:
    metering = make()
    await metering.apply_grant(grant_state("grt_1", budget_micro_usd=5_000_000))
    account = await metering.usage("grt_1")
    assert account.totals.requests == 0
    assert account.limits.budget_micro_usd == 5_000_000


async def test_an_older_grant_state_never_replaces_a_newer_one() -> None:
    metering = make()
    assert await metering.apply_grant(grant_state("grt_1", version=3, budget_micro_usd=300))
    assert not await metering.apply_grant(grant_state("grt_1", version=2, budget_micro_usd=200))
    assert not await metering.apply_grant(grant_state("grt_1", version=3, budget_micro_usd=999))
    assert (await metering.usage("grt_1")).limits.budget_micro_usd == 300


async def test_budget_state_reports_exhaustion_once_spend_reaches_the_budget() -> None:
    publisher = RecordingPublisher()
    metering = make(publisher=publisher)
    await metering.apply_grant(grant_state("grt_1", budget_micro_usd=400))
    await metering.record(usage_recorded("grt_1", input_tokens=1_000, output_tokens=0))  # 150
    first = await metering.publish_budget("grt_1")
    await metering.record(usage_recorded("grt_1", input_tokens=0, output_tokens=500))  # 300
    second = await metering.publish_budget("grt_1")
    assert first is not None and second is not None
    assert (first.spent_micro_usd, first.exhausted) == (150, False)
    assert (second.spent_micro_usd, second.exhausted, second.limit_micro_usd) == (450, True, 400)
    assert second.state_version > first.state_version
    assert second.producer == "metering"


async def test_budget_state_reports_exhaustion_at_the_request_cap() -> None:
    metering = make()
    await metering.apply_grant(grant_state("grt_1", max_requests=2))
    for _ in range(2):
        await metering.record(usage_recorded("grt_1"))
    state = await metering.publish_budget("grt_1")
    assert state is not None and state.exhausted and state.requests == 2


class RacingPublisher(RecordingPublisher):
    """While the first BudgetState is in flight, another replica counts a record for the same grant."""

    def __init__(self, store: MemoryStore) -> None:
        super().__init__()
        self.store = store

    async def publish(self, event: StateEvent) -> None:
        await super().publish(event)
        if len(self.events) == 1:
            metering = Metering(self.store, RecordingPublisher(), builtin_table(), FixedClock())
            await metering.record(usage_recorded("grt_1"))


async def test_budget_state_is_republished_when_the_account_moved_on_while_publishing() -> None:
    store = MemoryStore()
    publisher = RacingPublisher(store)
    metering = make(store, publisher)
    await metering.record(usage_recorded("grt_1"))
    last = await metering.publish_budget("grt_1")
    published = [event for event in publisher.events if isinstance(event, BudgetState)]
    assert [state.requests for state in published] == [1, 2]
    assert last == published[-1]


async def test_prices_are_published_with_a_version_that_rises_only_when_the_price_changes() -> None:
    store, publisher = MemoryStore(), RecordingPublisher()
    metering = make(store, publisher)
    await metering.publish_prices()
    await metering.publish_prices()
    metering.prices = metering.prices.with_rules([PriceRule("openai", "gpt-4o-mini*", Price(1, 2))])
    await metering.publish_prices()
    states = [event for event in publisher.events if isinstance(event, PriceState)]
    mini = [s for s in states if (s.provider, s.model) == ("openai", "gpt-4o-mini*")]
    assert [s.state_version for s in mini] == [1, 1, 2]
    assert mini[-1].input_micro_usd_per_mtok == 1
    fallback = [s for s in states if s.provider == FALLBACK_KEY]
    assert fallback and fallback[0].model == FALLBACK_KEY


async def test_usage_for_an_unknown_grant_is_counted_flagged_and_warned_about_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, clock = MemoryStore(), FixedClock()
    metering = Metering(store, RecordingPublisher(), builtin_table(), clock)
    await metering.apply_grant(grant_state("grt_real"))
    with caplog.at_level(logging.WARNING, logger="tollgate_metering"):
        await metering.record_many(
            [usage_recorded("grt_ghost"), usage_recorded("grt_ghost"), usage_recorded("grt_real")]
        )
        await metering.record(usage_recorded("grt_ghost"))  # within the quiet period: no second line
        clock.advance(601)
        await metering.record(usage_recorded("grt_ghost"))
    warnings = [r.getMessage() for r in caplog.records if "no grant state" in r.getMessage()]
    assert len(warnings) == 2
    assert "grt_ghost" in warnings[0] and "2 record(s)" in warnings[0] and "grt_real" not in warnings[0]
    assert (await metering.usage("grt_ghost")).totals.requests == 4
    assert len(store.unknown_grant) == 4
    unknown = await metering.unknown_grants()
    assert (unknown.grants, unknown.requests, unknown.grant_ids) == (1, 4, ["grt_ghost"])


async def test_unknown_grant_warnings_are_limited_and_clip_a_huge_id(caplog: pytest.LogCaptureFixture) -> None:
    metering = make()
    huge = "grt_" + "x" * 60_000
    with caplog.at_level(logging.WARNING, logger="tollgate_metering"):
        await metering.record_many([usage_recorded(huge)] + [usage_recorded(f"grt_{i}") for i in range(50)])
        metering.clock.advance(61)  # type: ignore[attr-defined]
        await metering.record(usage_recorded("grt_next"))
    warnings = [r.getMessage() for r in caplog.records if "no grant state" in r.getMessage()]
    assert len(warnings) == 21  # 20 a minute, then the next one says how many were held back
    assert "31 more unknown-grant warning(s) held back" in warnings[-1]
    assert "grt_" + "x" * 60 + "…" in warnings[0] and all(len(w) < 500 for w in warnings)
    assert (await metering.unknown_grants()).grants == 52

"""The use cases over the in-memory fakes of `tollgate_metering.testing`."""

from __future__ import annotations

import pytest

from tollgate_contracts import BudgetState, PriceState, StateEvent
from tollgate_metering.domain.errors import GrantNotFound
from tollgate_metering.domain.pricing import Price, PriceRule, builtin_table
from tollgate_metering.service import FALLBACK_KEY, Metering
from tollgate_metering.testing import FixedClock, MemoryStore, RecordingPublisher, grant_state, usage_recorded


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

"""The metering use cases: record usage, follow grant caps, publish budget and price state."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from tollgate_contracts import BudgetState, GrantState, PriceState, UsageRecorded
from tollgate_metering.domain.budget import Account, Limits
from tollgate_metering.domain.errors import GrantNotFound
from tollgate_metering.domain.pricing import PriceRule, PriceTable
from tollgate_metering.domain.usage import LedgerEntry
from tollgate_metering.notices import UnknownGrantLog
from tollgate_metering.ports import Clock, StatePublisher, Store, UnknownGrants

logger = logging.getLogger(__name__)

FALLBACK_KEY = "_fallback"
"""Provider and model name under which the fallback price is published (`price.state.v1._fallback._fallback`)."""

# Replicas publish BudgetState concurrently, so a slower one can put an older version after a newer one on the
# stream (where a fresh proxy would replay it). After each publish we re-read the account and publish again if
# it moved on; since every publisher does this, the last message on the subject converges to the newest version.
_MAX_BUDGET_REPUBLISH = 3


class Metering:
    """Use cases over a store and a publisher. Framework-free: the bus consumers and HTTP routes call this."""

    def __init__(
        self, store: Store, publisher: StatePublisher, prices: PriceTable, clock: Clock, producer: str = "metering"
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.prices = prices
        self.clock = clock
        self.producer = producer
        self.unknown_grant_log = UnknownGrantLog(clock)

    async def record(self, record: UsageRecorded) -> bool:
        """Price and store a usage record; False when its request id was already counted (nothing changes)."""
        return (await self.record_many([record]))[0]

    async def record_many(self, records: Sequence[UsageRecorded]) -> list[bool]:
        """Price and store usage records in one transaction; False for each one already counted.

        Raises InvalidUsage if any record can never be stored (then none is): record them one by one to find it.
        """
        now = self.clock.now()
        recorded = await self.store.record_many([LedgerEntry.price(record, self.prices, now) for record in records])
        for record, counted in zip(records, recorded.counted, strict=True):
            if not counted:
                logger.info("usage record %s already counted; ignored", record.request_id)
        if recorded.unknown:
            self.unknown_grant_log.note(recorded.unknown)
        return recorded.counted

    async def apply_grant(self, state: GrantState) -> bool:
        """Take a grant's caps from its state (only newer versions apply); True when they changed."""
        limits = Limits(budget_micro_usd=state.budget_micro_usd, max_requests=state.max_requests)
        return await self.store.apply_limits(state.grant_id, state.tenant_id, limits, state.state_version)

    async def usage(self, grant_id: str) -> Account:
        """A grant's account; raises GrantNotFound for a grant never heard of."""
        account = await self.store.account(grant_id)
        if account is None:
            raise GrantNotFound(grant_id)
        return account

    async def unknown_grants(self, limit: int = 100) -> UnknownGrants:
        """Usage counted for grants no GrantState was ever applied for (a grant auth never created, or one
        whose state has not reached metering yet)."""
        return await self.store.unknown_grants(limit)

    async def publish_budget(self, grant_id: str) -> BudgetState | None:
        """Publish the grant's current BudgetState (PubAck awaited); returns the last one published."""
        return (await self.publish_budgets([grant_id])).get(grant_id)

    async def publish_budgets(self, grant_ids: Sequence[str]) -> dict[str, BudgetState]:
        """Publish the current BudgetState of each grant, concurrently; returns the last one of each."""
        published: dict[str, BudgetState] = {}
        pending = list(grant_ids)
        for _ in range(_MAX_BUDGET_REPUBLISH):
            accounts = await self.store.accounts(pending) if pending else {}
            states = [
                self.budget_state(account)
                for account in accounts.values()
                if account.grant_id not in published or account.version > published[account.grant_id].state_version
            ]
            if not states:
                break
            failures = await asyncio.gather(*(self.publisher.publish(s) for s in states), return_exceptions=True)
            for failure in failures:
                if isinstance(failure, BaseException):
                    raise failure
            published.update((state.grant_id, state) for state in states)
            pending = [state.grant_id for state in states]
        return published

    def budget_state(self, account: Account) -> BudgetState:
        return BudgetState(
            producer=self.producer,
            occurred_at=self.clock.now(),
            state_version=max(1, account.version),
            grant_id=account.grant_id,
            limit_micro_usd=account.limits.budget_micro_usd,
            spent_micro_usd=account.totals.cost_micro_usd,
            max_requests=account.limits.max_requests,
            requests=account.totals.requests,
            exhausted=account.exhausted,
        )

    async def publish_prices(self) -> list[PriceState]:
        """Store the price table's versions and publish a PriceState per rule and for the fallback."""
        rules = (*self.prices.rules, PriceRule(FALLBACK_KEY, FALLBACK_KEY, self.prices.fallback))
        states = [
            PriceState(
                producer=self.producer,
                occurred_at=self.clock.now(),
                state_version=versioned.version,
                provider=versioned.rule.provider,
                model=versioned.rule.model,
                input_micro_usd_per_mtok=versioned.rule.price.input_micro_usd_per_mtok,
                output_micro_usd_per_mtok=versioned.rule.price.output_micro_usd_per_mtok,
            )
            for versioned in await self.store.sync_prices(rules)
        ]
        for state in states:
            await self.publisher.publish(state)
        return states

"""Fakes of the ports and builders of events, shipped with the package so other services' tests can use them.

The clock fake is servicekit's (`tollgate_servicekit.testing.FixedClock`), shared by every service.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

from fastapi import FastAPI

from tollgate_contracts import Capability, GrantState, GrantStatus, StateEvent, UsageRecorded, new_id
from tollgate_metering.domain.budget import Account, Limits
from tollgate_metering.domain.pricing import PriceRule
from tollgate_metering.domain.usage import LedgerEntry, Totals
from tollgate_metering.ports import Recorded, UnknownGrants, VersionedPrice
from tollgate_metering.runtime import Runtime

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class MemoryStore:
    """The `Store` port in memory, with the same exactly-once and newest-version-wins rules as the SQL store."""

    def __init__(self) -> None:
        self.ledger: dict[str, LedgerEntry] = {}
        self.held: dict[str, Account] = {}
        self.prices: dict[tuple[str, str], VersionedPrice] = {}
        self.unknown_grant: set[str] = set()
        """Request ids of the ledger entries flagged `unknown_grant`."""

    def _account(self, grant_id: str) -> Account:
        return self.held.get(grant_id) or Account(grant_id, Limits(), Totals(), version=0)

    async def record_many(self, entries: Sequence[LedgerEntry]) -> Recorded:
        results, unknown = [], []
        for entry in entries:
            results.append(entry.request_id not in self.ledger)
            if results[-1]:
                self.ledger[entry.request_id] = entry
                account = self._account(entry.grant_id)
                if account.grant_version == 0:
                    self.unknown_grant.add(entry.request_id)
                    unknown.append(entry)
                self.held[entry.grant_id] = replace(
                    account, totals=account.totals.add(entry), version=account.version + 1
                )
        return Recorded(counted=results, unknown=unknown)

    async def apply_limits(self, grant_id: str, tenant_id: str, limits: Limits, grant_version: int) -> bool:
        account = self._account(grant_id)
        if account.grant_version >= grant_version:
            return False
        self.held[grant_id] = replace(account, limits=limits, grant_version=grant_version, version=account.version + 1)
        return True

    async def account(self, grant_id: str) -> Account | None:
        return self.held.get(grant_id)

    async def accounts(self, grant_ids: Sequence[str]) -> dict[str, Account]:
        return {grant_id: self.held[grant_id] for grant_id in grant_ids if grant_id in self.held}

    async def unknown_grants(self, limit: int) -> UnknownGrants:
        unknown = sorted((a for a in self.held.values() if a.grant_version == 0), key=lambda a: a.grant_id)
        return UnknownGrants(
            grants=len(unknown),
            requests=sum(a.totals.requests for a in unknown),
            cost_micro_usd=sum(a.totals.cost_micro_usd for a in unknown),
            grant_ids=[a.grant_id for a in unknown[:limit]],
        )

    async def sync_prices(self, rules: Sequence[PriceRule]) -> list[VersionedPrice]:
        for rule in rules:
            key = (rule.provider, rule.model)
            held = self.prices.get(key)
            if held is None:
                self.prices[key] = VersionedPrice(rule, 1)
            elif held.rule.price != rule.price:
                self.prices[key] = VersionedPrice(rule, held.version + 1)
        return [self.prices[(rule.provider, rule.model)] for rule in rules]


class RecordingPublisher:
    """A `StatePublisher` that keeps what it was given."""

    def __init__(self) -> None:
        self.events: list[StateEvent] = []

    async def publish(self, event: StateEvent) -> None:
        self.events.append(event)

    def of_type(self, kind: type[StateEvent]) -> list[StateEvent]:
        return [event for event in self.events if isinstance(event, kind)]


def grant_state(
    grant_id: str | None = None,
    *,
    version: int = 1,
    budget_micro_usd: int | None = None,
    max_requests: int | None = None,
    tenant_id: str = "tnt_test",
    provider: str = "openai",
    models: tuple[str, ...] = ("*",),
) -> GrantState:
    """An active GrantState as auth would publish it."""
    return GrantState(
        producer="auth",
        state_version=version,
        grant_id=grant_id or new_id("grt"),
        tenant_id=tenant_id,
        status=GrantStatus.ACTIVE,
        provider=provider,
        models=models,
        capabilities=(Capability.CHAT,),
        budget_micro_usd=budget_micro_usd,
        max_requests=max_requests,
        created_at=EPOCH,
    )


def usage_recorded(
    grant_id: str,
    *,
    request_id: str | None = None,
    input_tokens: int = 100,
    output_tokens: int = 50,
    provider: str = "openai",
    model: str = "gpt-4o-mini",
    tenant_id: str = "tnt_test",
) -> UsageRecorded:
    """A UsageRecorded as a proxy would publish it."""
    return UsageRecorded(
        producer="proxy",
        request_id=request_id or new_id("req"),
        grant_id=grant_id,
        tenant_id=tenant_id,
        provider=provider,
        model=model,
        capability=Capability.CHAT,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        status_code=200,
        started_at=EPOCH,
        duration_ms=12,
    )


@asynccontextmanager
async def serving(app: FastAPI, ready_within: float = 30.0) -> AsyncIterator[Runtime]:
    """Run the app's lifespan (as uvicorn would) and wait until it is ready; stops it on exit."""
    runtime: Runtime = app.state.runtime
    async with app.router.lifespan_context(app):
        async with asyncio.timeout(ready_within):
            await runtime.ready.wait()
        yield runtime

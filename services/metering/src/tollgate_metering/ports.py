"""What the metering use cases need from the outside world. Adapters implement these; tests use `testing`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tollgate_contracts import StateEvent
from tollgate_metering.domain.budget import Account, Limits
from tollgate_metering.domain.pricing import PriceRule
from tollgate_metering.domain.usage import LedgerEntry


@dataclass(frozen=True)
class VersionedPrice:
    """A price rule and the version its PriceState carries (bumped whenever the price changes)."""

    rule: PriceRule
    version: int


class Store(Protocol):
    """The usage ledger, the per-grant accounts and the price versions.

    Every method is atomic. Implementations raise `StoreUnavailable` for failures worth retrying.
    """

    async def record_many(self, entries: Sequence[LedgerEntry]) -> list[bool]:
        """Add the entries and their grants' totals in one transaction. One result per entry: False (and no
        change) for a request id already recorded, or repeated earlier in `entries`. Raises InvalidUsage when
        the data cannot be stored (then nothing is)."""
        ...

    async def apply_limits(self, grant_id: str, tenant_id: str, limits: Limits, grant_version: int) -> bool:
        """Take a grant's caps from a GrantState unless a newer or equal version was applied; True if applied."""
        ...

    async def account(self, grant_id: str) -> Account | None:
        """A consistent snapshot of a grant's account, or None for a grant never heard of."""
        ...

    async def accounts(self, grant_ids: Sequence[str]) -> dict[str, Account]:
        """Snapshots of these grants' accounts (each consistent on its own); unknown grants are left out."""
        ...

    async def sync_prices(self, rules: Sequence[PriceRule]) -> list[VersionedPrice]:
        """Store these prices, bumping the version of each whose price changed; returns them with versions."""
        ...


class StatePublisher(Protocol):
    """Publishes state events and returns once the bus has acknowledged them (raises `BusUnavailable`)."""

    async def publish(self, event: StateEvent) -> None: ...


class Clock(Protocol):
    """The current time, as an aware UTC datetime."""

    def now(self) -> datetime: ...

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


@dataclass(frozen=True)
class Recorded:
    """What storing a batch did: one `counted` flag per entry (False = already recorded, nothing changed), and
    the newly counted entries whose grant had no GrantState yet (stored and flagged `unknown_grant`)."""

    counted: list[bool]
    unknown: list[LedgerEntry]


@dataclass(frozen=True)
class UnknownGrants:
    """Grants with usage but no GrantState ever seen: counted (money is never dropped), and shown here."""

    grants: int
    requests: int
    cost_micro_usd: int
    grant_ids: list[str]
    """The first of them by id (at most the limit asked for)."""


class Store(Protocol):
    """The usage ledger, the per-grant accounts and the price versions.

    Every method is atomic. Implementations raise `StoreUnavailable` for failures worth retrying.
    """

    async def record_many(self, entries: Sequence[LedgerEntry]) -> Recorded:
        """Add the entries and their grants' totals in one transaction. One `counted` flag per entry: False
        (and no change) for a request id already recorded, or repeated earlier in `entries`. A new entry for a
        grant without any applied GrantState is stored flagged `unknown_grant` and listed in `unknown`.
        Raises InvalidUsage when the data cannot be stored (then nothing is)."""
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

    async def unknown_grants(self, limit: int) -> UnknownGrants:
        """The grants that have usage but never had a GrantState applied, with their totals."""
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

"""A grant's caps, its account (caps plus totals), and when it is exhausted.

A cap of `None` means no cap. A grant is exhausted once spend reaches its money cap or the request count
reaches its request cap: `spent >= limit` (so a zero budget is exhausted from the start, and the request that
crosses the cap is the last one counted, not refused after the fact: refusing is the proxy's job).
"""

from __future__ import annotations

from dataclasses import dataclass

from tollgate_metering.domain.usage import Totals


@dataclass(frozen=True)
class Limits:
    """A grant's caps, as its latest GrantState says."""

    budget_micro_usd: int | None = None
    max_requests: int | None = None


def is_exhausted(limits: Limits, totals: Totals) -> bool:
    """True once either cap is reached."""
    if limits.budget_micro_usd is not None and totals.cost_micro_usd >= limits.budget_micro_usd:
        return True
    return limits.max_requests is not None and totals.requests >= limits.max_requests


@dataclass(frozen=True)
class Account:
    """Everything metering knows about one grant.

    `version` increases with every change to the limits or the totals; it is the `state_version` of the
    grant's BudgetState. `grant_version` is the GrantState version the limits came from (0 = no grant
    state seen yet, only usage).
    """

    grant_id: str
    limits: Limits
    totals: Totals
    version: int
    grant_version: int = 0

    @property
    def grant_known(self) -> bool:
        """False while metering has counted usage for this grant but never seen its GrantState."""
        return self.grant_version > 0

    @property
    def exhausted(self) -> bool:
        return is_exhausted(self.limits, self.totals)

    @property
    def remaining_micro_usd(self) -> int | None:
        """Money left under the cap (never negative), or None without a cap."""
        if self.limits.budget_micro_usd is None:
            return None
        return max(0, self.limits.budget_micro_usd - self.totals.cost_micro_usd)

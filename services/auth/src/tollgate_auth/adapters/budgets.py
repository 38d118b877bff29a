"""Grants' budgets as metering publishes them, for introspection's "last known remaining budget" (RFC 7662).

One direct get of `budget.state.v1.<grant_id>`'s last message on TG_BUDGETS per introspection, no cache (as
keyvault reads tenants): the API subject names the grant, so auth's NATS user is granted exactly "read a grant's
last budget" and nothing else of the stream (`tollgate_contracts.permissions`). Only metering's state is believed
(`tollgate_contracts.owners`): the bus lets no one else publish it, and a forged one is still ignored here.
"""

from __future__ import annotations

from tollgate_contracts import BudgetState, is_subject_token
from tollgate_servicekit.nats import Bus


class BusBudgets:
    """A grant's last budget state over a connected `Bus`; `BusUnavailable` when the bus cannot answer."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def budget(self, grant_id: str) -> BudgetState | None:
        """The grant's last budget state from metering, or None (none yet, unreadable, or not metering's)."""
        if not is_subject_token(grant_id):
            # A wildcard here would read the budget of whichever grant spent last.
            return None
        return await self._bus.last_state(BudgetState, grant_id, what="the budget")

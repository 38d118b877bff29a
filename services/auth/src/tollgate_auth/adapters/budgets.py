"""Grants' budgets as metering publishes them, for introspection's "last known remaining budget" (RFC 7662).

One direct get of `budget.state.v1.<grant_id>`'s last message on TG_BUDGETS per introspection, no cache (as
keyvault reads tenants): the API subject names the grant, so auth's NATS user is granted exactly "read a grant's
last budget" and nothing else of the stream (`tollgate_contracts.permissions`). Only metering's state is believed
(`tollgate_contracts.owners`): the bus lets no one else publish it, and a forged one is still ignored here.
"""

from __future__ import annotations

import logging

from nats.js.errors import NotFoundError
from pydantic import ValidationError

from tollgate_contracts import BudgetState, is_subject_token
from tollgate_contracts.owners import STATE_OWNERS
from tollgate_contracts.streams import BUDGETS
from tollgate_servicekit.errors import BusUnavailable
from tollgate_servicekit.nats import BUS_ERRORS, Bus

logger = logging.getLogger(__name__)

BUDGET_OWNER = STATE_OWNERS[BudgetState]
"""The only service whose budget state auth believes."""


class BusBudgets:
    """A grant's last budget state over a connected `Bus`; `BusUnavailable` when the bus cannot answer."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus

    async def budget(self, grant_id: str) -> BudgetState | None:
        """The grant's last budget state from metering, or None (none yet, unreadable, or not metering's)."""
        if not is_subject_token(grant_id):
            # A wildcard here would read the budget of whichever grant spent last.
            return None
        if not self._bus.is_connected:
            # At once: a get while nats-py reconnects would only wait out its timeout.
            raise BusUnavailable("the event bus is unreachable")
        subject = f"{BudgetState.subject_prefix}.{grant_id}"
        try:
            msg = await self._bus.js.get_last_msg(BUDGETS.name, subject, direct=True)
        except NotFoundError:
            return None
        except BUS_ERRORS as exc:
            raise BusUnavailable(f"cannot read the budget on the bus: {type(exc).__name__}") from exc
        try:
            state = BudgetState.model_validate_json(msg.data or b"")
        except ValidationError:
            logger.error("the last message on %s is not a readable BudgetState", subject)
            return None
        if state.producer.partition("/")[0] != BUDGET_OWNER or state.grant_id != grant_id:
            logger.warning("ignoring budget state on %s from producer %r", subject, state.producer[:32])
            return None
        return state

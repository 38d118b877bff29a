"""Which service may publish which policy state: the proxy obeys a state event only from its subject's owner.

Defence in depth behind the bus permissions: if an account that may publish
on the bus is compromised (or misconfigured), a grant, key or budget state it
forges under another service's subject still changes nothing at the proxy.

The owners are the contracts' table (`tollgate_contracts.owners.STATE_OWNERS`), the one the NATS permission set
is built from: grant, API key, revoked token and signing key state from auth, credentials from keyvault,
budgets, breakers and prices from metering.

A producer is a service name, optionally followed by `/` and a replica id
(`auth`, `metering/mtr_1`, `proxy/prx_1`); only the service part is compared.
"""

from __future__ import annotations

from tollgate_contracts import StateEvent
from tollgate_contracts.owners import STATE_OWNERS, published_by_owner, service_of

__all__ = ["owner_of", "published_by_owner", "service_of"]


def owner_of(event: StateEvent) -> str | None:
    """The service that owns this event's subject (None for a kind the proxy does not know)."""
    return STATE_OWNERS.get(type(event))

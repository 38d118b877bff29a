"""Which service may publish which policy state: the proxy obeys a state event only from its subject's owner.

Defence in depth behind the bus permissions: if an account that may publish
on the bus is compromised (or misconfigured), a grant, key or budget state it
forges under another service's subject still changes nothing at the proxy.

    grant, API key, revoked token, signing key (JWKS)   auth
    credential                                          keyvault
    budget, breaker, price                              metering

A producer is a service name, optionally followed by `/` and a replica id
(`auth`, `metering/mtr_1`, `proxy/prx_1`); only the service part is compared.
"""

from __future__ import annotations

from collections.abc import Mapping

from tollgate_contracts import (
    ApiKeyState,
    BreakerState,
    BudgetState,
    CredentialState,
    GrantState,
    PriceState,
    SigningKeyState,
    StateEvent,
    TokenRevoked,
)

OWNERS: Mapping[type[StateEvent], str] = {
    GrantState: "auth",
    ApiKeyState: "auth",
    TokenRevoked: "auth",
    SigningKeyState: "auth",
    CredentialState: "keyvault",
    BudgetState: "metering",
    BreakerState: "metering",
    PriceState: "metering",
}
"""The one service allowed to publish each kind of policy state."""


def service_of(producer: str) -> str:
    """The service part of an envelope's `producer` (`auth` of `auth` and of `auth/replica-2`)."""
    return producer.partition("/")[0]


def owner_of(event: StateEvent) -> str | None:
    """The service that owns this event's subject (None for a kind the proxy does not know)."""
    return OWNERS.get(type(event))


def published_by_owner(event: StateEvent) -> bool:
    """True when the event's producer is the service that owns its subject."""
    owner = OWNERS.get(type(event))
    return owner is not None and service_of(event.producer) == owner

"""Which service owns each kind of state: the one service that may publish it.

One table for the two places that enforce it: the NATS permission set (`tollgate_contracts.permissions` lets
only the owner publish a state subject) and the proxy, which as defence in depth obeys a state event only when
its `producer` is the subject's owner (a compromised account that may publish still forges nothing).

    grant, API key, revoked token, signing key (JWKS), tenant   auth
    credential                                                  keyvault
    budget, breaker, price                                      metering
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from tollgate_contracts.apikeys import ApiKeyState
from tollgate_contracts.credentials import CredentialState
from tollgate_contracts.envelope import StateEvent
from tollgate_contracts.grants import GrantState
from tollgate_contracts.metering import BreakerState, BudgetState, PriceState
from tollgate_contracts.tenants import TenantState
from tollgate_contracts.tokens import SigningKeyState, TokenRevoked

__all__ = ["STATE_OWNERS", "owned_by", "published_by_owner", "service_of"]

STATE_OWNERS: Mapping[type[StateEvent], str] = MappingProxyType(
    {
        GrantState: "auth",
        ApiKeyState: "auth",
        TokenRevoked: "auth",
        SigningKeyState: "auth",
        TenantState: "auth",
        CredentialState: "keyvault",
        BudgetState: "metering",
        BreakerState: "metering",
        PriceState: "metering",
    }
)
"""The one service allowed to publish each kind of state (its NATS user name, and its `producer` before `/`)."""


def service_of(producer: str) -> str:
    """The service part of an envelope's `producer` (`auth` of `auth` and of `auth/replica-2`)."""
    return producer.partition("/")[0]


def published_by_owner(event: StateEvent) -> bool:
    """True when the event's producer is the service that owns its kind of state (False for a kind not listed)."""
    owner = STATE_OWNERS.get(type(event))
    return owner is not None and service_of(event.producer) == owner


def owned_by(service: str) -> tuple[type[StateEvent], ...]:
    """The kinds of state `service` owns, in the table's order."""
    return tuple(event for event, owner in STATE_OWNERS.items() if owner == service)

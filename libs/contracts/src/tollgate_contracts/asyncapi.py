"""The AsyncAPI document of every subject, generated from the contracts (needs the `asyncapi` extra).

`python -m tollgate_contracts.asyncapi > docs/asyncapi.json` writes it; a test
fails when the checked-in copy is out of date.
"""

from __future__ import annotations

import json
from typing import Any

from faststream import AsyncAPI
from faststream.nats import NatsBroker

from tollgate_contracts.apikeys import ApiKeyState
from tollgate_contracts.audit import AuditEvent
from tollgate_contracts.credentials import CredentialState
from tollgate_contracts.envelope import Event, Message
from tollgate_contracts.grants import GrantState
from tollgate_contracts.metering import BreakerState, BudgetState, PriceState, UsageRecorded
from tollgate_contracts.rpc import LeaseReply, LeaseRequest, SealReply, SealRequest
from tollgate_contracts.tenants import TenantState
from tollgate_contracts.tokens import SigningKeyState, TokenRevoked

VERSION = "1.0.0"

# (model, subject as documented, producer → consumers)
EVENTS: tuple[tuple[type[Event], str, str], ...] = (
    (GrantState, "grant.state.v1.{grant_id}", "auth → proxies, metering"),
    (ApiKeyState, "apikey.state.v1.{key_hash}", "auth → proxies"),
    (TokenRevoked, "token.revoked.v1.{jti}", "auth → proxies"),
    (SigningKeyState, "jwks.state.v1.{kid}", "auth → proxies"),
    (CredentialState, "credential.state.v1.{credential_id}", "keyvault → proxies"),
    (BudgetState, "budget.state.v1.{grant_id}", "metering → proxies"),
    (BreakerState, "breaker.state.v1.{scope}", "metering → proxies"),
    (PriceState, "price.state.v1.{provider}.{model}", "metering → proxies"),
    (TenantState, "tenant.state.v1.{tenant_id}", "auth → keyvault"),
    (UsageRecorded, "usage.recorded.v1", "proxies → metering, anyone"),
    (AuditEvent, "audit.{service}.v1", "every service → anyone"),
)

# (request, reply, subject, requester → responder)
REQUESTS: tuple[tuple[type[Message], type[Message], str, str], ...] = (
    (SealRequest, SealReply, "keyvault.seal.v1", "proxy → keyvault"),
    (LeaseRequest, LeaseReply, "metering.lease.v1", "proxy → metering"),
)


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc else ""


def build_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document as a JSON-ready dict."""
    broker = NatsBroker()
    for model, subject, flow in EVENTS:
        broker.publisher(
            subject,
            schema=model,
            title=f"{subject}:{model.__name__}",
            description=f"{(model.__doc__ or '').strip()}\n\nFlow: {flow}.",
        )
    for request, reply, subject, flow in REQUESTS:
        broker.publisher(
            subject,
            schema=request,
            title=f"{subject}:{request.__name__}",
            description=f"{_first_line(request.__doc__)} Request/reply: {flow}; answered with `{reply.__name__}`.",
        )
        broker.publisher(
            "_INBOX.{inbox}",
            schema=reply,
            title=f"{subject}:{reply.__name__}",
            description=f"{_first_line(reply.__doc__)} Sent to the reply inbox of a `{subject}` request.",
        )
    spec = AsyncAPI(
        broker,
        title="Tollgate bus",
        version=VERSION,
        description="Every subject on Tollgate's NATS/JetStream bus, generated from `libs/contracts`.",
    ).to_specification()
    document: dict[str, Any] = json.loads(spec.to_json())
    return document


def render() -> str:
    """The document as stable, pretty JSON text."""
    return json.dumps(build_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())

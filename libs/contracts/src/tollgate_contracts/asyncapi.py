"""The AsyncAPI document of Tollgate's bus (needs the `asyncapi` extra): the services' real FastStream handlers,
and the contracts' description of every subject and payload no handler documents.

Where a service's bus handler runs on FastStream (keyvault's seal responder), the document shows that handler —
its subject, queue group and payload, from the code that really runs — and the contracts do not describe the same
(subject, payload) again. Everything else (the events every service publishes with nats-py, the requests the proxy
sends, the replies, which FastStream documents for no handler) is described from the models here.

The contracts cannot import a service, so the handlers are passed in: `tollgate_devstack.asyncapi` (which may
import every service) collects them and writes `docs/asyncapi.json` (`make asyncapi`); a test fails when the
checked-in copy is out of date.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any
from urllib.parse import unquote

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


Received = Collection[tuple[str, str]]
"""(subject, payload model name) pairs that a real handler documents."""


def describe(broker: NatsBroker, *, received: Received = ()) -> NatsBroker:
    """Register on `broker` a publisher for every subject and payload of the contracts, except a request whose
    (subject, model) a real handler in `received` documents (its reply is still described: FastStream documents
    none)."""
    for model, subject, flow in EVENTS:
        broker.publisher(
            subject,
            schema=model,
            title=f"{subject}:{model.__name__}",
            description=f"{(model.__doc__ or '').strip()}\n\nFlow: {flow}.",
        )
    for request, reply, subject, flow in REQUESTS:
        if (subject, request.__name__) not in received:
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
    return broker


def received_by(*handlers: NatsBroker) -> set[tuple[str, str]]:
    """The (subject, payload model name) of every message the handlers' subscribers receive."""
    document = _specification(*handlers)
    found: set[tuple[str, str]] = set()
    for operation in document.get("operations", {}).values():
        if operation["action"] != "receive":
            continue
        channel = document["channels"][_target(operation["channel"])]
        for message in channel["messages"].values():
            payload = document["components"]["messages"][_target(message)]["payload"]
            found.add((channel["address"], _target(payload)))
    return found


def _target(reference: dict[str, str]) -> str:
    """The name a `{"$ref": "#/…/<name>"}` points to (names are URL-encoded in references: `{` is `%7B`)."""
    return unquote(reference["$ref"].rsplit("/", 1)[1])


def build_document(*handlers: NatsBroker) -> dict[str, Any]:
    """The AsyncAPI 3.0 document as a JSON-ready dict: `handlers` (brokers holding the services' real FastStream
    subscribers, never started) and the contracts' description of the rest."""
    return _specification(describe(NatsBroker(), received=received_by(*handlers)), *handlers)


def _specification(*brokers: NatsBroker) -> dict[str, Any]:
    spec = AsyncAPI(
        *brokers,
        title="Tollgate bus",
        version=VERSION,
        description="Every subject on Tollgate's NATS/JetStream bus: the services' FastStream handlers where they "
        "run, the models of `libs/contracts` for the rest.",
    ).to_specification()
    document: dict[str, Any] = json.loads(spec.to_json())
    return document


def render(*handlers: NatsBroker) -> str:
    """The document as stable, pretty JSON text."""
    return json.dumps(build_document(*handlers), indent=2, sort_keys=True) + "\n"

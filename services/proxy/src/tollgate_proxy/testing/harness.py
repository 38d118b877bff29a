"""The proxy's request path with every port faked: call the ASGI edge in memory, no socket, bus or server.

    harness = Harness.build()                        # a signing key, grant grt_1 and credential crd_1 in its cache
    harness.upstream.reply(Answer.json(completion()))
    answer = await harness.post("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": [...]})
    assert answer.status == 200 and harness.usage.records[0].input_tokens == 9

`call_asgi` drives any ASGI app the same way: the request body as one or more
messages, then `http.disconnect` when the client leaves (after N body chunks
of the answer, or once the app is done).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from tollgate_contracts import StateEvent
from tollgate_proxy.api.edge import Edge
from tollgate_proxy.domain.dpop import ProofPolicy
from tollgate_proxy.policy_cache import PolicyCache
from tollgate_proxy.service import ProxyService
from tollgate_proxy.testing.builders import Signer, make_credential, make_grant
from tollgate_proxy.testing.fakes import FakeClock, FakeReadiness, FakeSealedKeys, FakeUpstream, RecordingUsageSink

Message = MutableMapping[str, Any]
App = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Any]

PROVIDER_KEY = "sk-fake-provider-key-0001"


@dataclass
class Exchange:
    """What the client got."""

    status: int = 0
    raw_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    complete: bool = False
    """The app sent its last body message (`more_body` false)."""
    broken: BaseException | None = None
    """What the app raised instead of finishing (the server would cut the connection)."""

    @property
    def headers(self) -> dict[str, str]:
        return {name.decode("latin-1"): value.decode("latin-1") for name, value in self.raw_headers}

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def json(self) -> Any:
        return json.loads(self.body)


async def call_asgi(
    app: App,
    method: str,
    path: str,
    *,
    headers: Iterable[tuple[bytes, bytes]] = (),
    body: bytes | list[bytes] = b"",
    leave_after_chunks: int | None = None,
) -> Exchange:
    """One HTTP exchange with an ASGI app, in memory."""
    parts = body if isinstance(body, list) else [body]
    pending = list(parts)
    left = asyncio.Event()
    exchange = Exchange()

    async def receive() -> Message:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        await left.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.raw_headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            if message.get("body"):
                exchange.chunks.append(message["body"])
            if not message.get("more_body", False):
                exchange.complete = True
            if leave_after_chunks is not None and len(exchange.chunks) >= leave_after_chunks:
                left.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": list(headers),
    }
    try:
        await app(scope, receive, send)
    except Exception as exc:  # the test looks at it; a real server would cut the connection
        exchange.broken = exc
    finally:
        left.set()
    return exchange


@dataclass
class Harness:
    """A ProxyService and its ASGI edge over fakes, with a real (pure, in-memory) PolicyCache."""

    policy: PolicyCache
    upstream: FakeUpstream
    keys: FakeSealedKeys
    usage: RecordingUsageSink
    clock: FakeClock
    readiness: FakeReadiness
    signer: Signer
    service: ProxyService
    edge: Edge

    @classmethod
    def build(
        cls,
        states: Iterable[StateEvent] | None = None,
        *,
        max_body_bytes: int = 64 * 1024,
        fresh_state_wait: float = 0.0,
        signer: Signer | None = None,
        proofs: ProofPolicy | None = None,
    ) -> Harness:
        """States default to: the signer's key, grant grt_1 (gpt-4o-mini chat) and credential crd_1."""
        signer = signer or Signer()
        policy = PolicyCache()
        for state in [signer.state(), make_grant(), make_credential()] if states is None else states:
            policy.apply(state)
        upstream, keys, usage = FakeUpstream(), FakeSealedKeys({"crd_1": PROVIDER_KEY}), RecordingUsageSink()
        clock, readiness = FakeClock(), FakeReadiness()
        service = ProxyService(
            policy=policy,
            sealed_keys=keys,
            upstream=upstream,
            usage=usage,
            readiness=readiness,
            clock=clock,
            issuer=signer.issuer,
            resource=signer.audience,
            producer="proxy/prx_test",
            max_body_bytes=max_body_bytes,
            fresh_state_wait=fresh_state_wait,
            proofs=proofs,
        )
        edge = Edge(service, readiness)
        return cls(policy, upstream, keys, usage, clock, readiness, signer, service, edge)

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | list[bytes] = b"",
        *,
        credential: str | None = None,
        headers: Iterable[tuple[bytes, bytes]] = (),
        leave_after_chunks: int | None = None,
        scheme: str = "Bearer",
    ) -> Exchange:
        """A request with `credential` (default: a fresh token for grt_1) as `Authorization: <scheme>`."""
        credential = credential if credential is not None else self.signer.token()
        sent = [(b"authorization", f"{scheme} {credential}".encode()), *headers] if credential else list(headers)
        return await call_asgi(self.edge, method, path, headers=sent, body=body, leave_after_chunks=leave_after_chunks)

    async def post(
        self, path: str, payload: Any, *, headers: Iterable[tuple[bytes, bytes]] = (), **kwargs: Any
    ) -> Exchange:
        """A JSON POST (with `headers` besides its content type and length)."""
        body = json.dumps(payload).encode()
        sent = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
        return await self.request("POST", path, body, headers=sent, **kwargs)

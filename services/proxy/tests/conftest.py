"""Fixtures for the proxy's tests: the test-data builders of `tollgate_proxy.testing`, and an integration stack.

The stack is a real NATS, a real provider stand-in over HTTP, a keyvault-seal
responder and the proxy under uvicorn; tests of the request path that need
none of those use `tollgate_proxy.testing.Harness` instead.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import anthropic
import nats
import openai
import pytest
import uvicorn
from aiohttp import web
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from tollgate_contracts import (
    Capability,
    CredentialState,
    ErrorCode,
    GrantState,
    SealReply,
    SealRequest,
    StateEvent,
    UsageRecorded,
)
from tollgate_contracts.bus import ensure_streams
from tollgate_contracts.sealedbox import seal
from tollgate_proxy.app import ProxyApp, create_app
from tollgate_proxy.settings import Settings
from tollgate_proxy.testing import Signer, make_credential, make_grant
from tollgate_servicekit.natsserver import NatsServer
from tollgate_servicekit.tcp import free_port
from tollgate_servicekit.testing import eventually


@pytest.fixture
def signer() -> Signer:
    return Signer(kid="k-test")


@pytest.fixture
def new_signer() -> Callable[..., Signer]:
    """Another key, e.g. an impostor using the same kid, or a rotated key."""
    return Signer


GrantFactory = Callable[..., GrantState]


@pytest.fixture
def grant_state() -> GrantFactory:
    return make_grant


@pytest.fixture
def credential_state() -> Callable[..., CredentialState]:
    return make_credential


# --- integration harness: a real NATS, a real upstream HTTP server, a keyvault-seal responder, the proxy ---------


OPENAI_KEY = "sk-stub-openai-7f3a"
ANTHROPIC_KEY = "sk-ant-stub-91c2"
REPLY_WORDS = ["Hello", " from", " the", " stub"]


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """The stub's deterministic token count: one per character of message text."""
    return sum(len(str(m.get("content", ""))) for m in messages)


@dataclass
class Provider:
    """A small real provider: OpenAI- and Anthropic-shaped, deterministic usage, checks the injected key."""

    seen: list[dict[str, Any]] = field(default_factory=list)
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = field(default_factory=free_port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/embeddings", self.embeddings)
        app.router.add_get("/v1/models", self.models)
        app.router.add_post("/v1/messages", self.messages)
        return app

    def _remember(self, request: web.Request, body: Any) -> None:
        self.seen.append({"path": request.path, "headers": dict(request.headers), "body": body})

    @staticmethod
    def _openai_auth(request: web.Request) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {OPENAI_KEY}":
            error = {"message": "Incorrect API key provided", "type": "invalid_request_error", "param": None}
            return web.json_response({"error": {**error, "code": "invalid_api_key"}}, status=401)
        return None

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self._remember(request, body)
        if (refused := self._openai_auth(request)) is not None:
            return refused
        model = body["model"]
        if model == "stub-400":
            error = {"message": "stub refuses", "type": "invalid_request_error", "param": "model", "code": "stub_no"}
            return web.json_response({"error": error}, status=400)
        usage = {"prompt_tokens": prompt_tokens(body["messages"]), "completion_tokens": len(REPLY_WORDS)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        base = {"id": "chatcmpl-stub", "created": 1700000000, "model": model}
        if model == "stub-slow":
            await asyncio.sleep(2)
        if model == "stub-broken-json":
            response = web.StreamResponse(headers={"Content-Type": "application/json", "Content-Length": "1000"})
            await response.prepare(request)
            await response.write(b'{"id": "chatcmpl-stub", "choices": [')
            raise ConnectionResetError("the stub breaks off mid-body")
        if not body.get("stream"):
            message = {"role": "assistant", "content": "".join(REPLY_WORDS)}
            choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
            return web.json_response({**base, "object": "chat.completion", "choices": [choice], "usage": usage})
        include_usage = (body.get("stream_options") or {}).get("include_usage") is True
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        async def chunk(choices: list[Any], **extra: Any) -> None:
            payload: dict[str, Any] = {**base, "object": "chat.completion.chunk", "choices": choices, **extra}
            if include_usage and "usage" not in extra:
                payload["usage"] = None
            await response.write(b"data: " + json.dumps(payload).encode() + b"\n\n")

        try:
            words = iter(REPLY_WORDS)
            while True:
                word = next(words, None)
                if word is None and model == "stub-endless":
                    word = " more"
                    await asyncio.sleep(0.01)
                if word is None:
                    break
                await chunk([{"index": 0, "delta": {"content": word}, "finish_reason": None}])
                if model == "stub-broken" and word == REPLY_WORDS[1]:
                    raise ConnectionResetError("the stub breaks off mid-stream")
        except ConnectionResetError:
            self.hung_up.set()
            raise
        await chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if include_usage:
            await chunk([], usage=usage)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._remember(request, body)
        if (refused := self._openai_auth(request)) is not None:
            return refused
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [{"object": "embedding", "index": i, "embedding": [0.25, 0.5, 0.75]} for i in range(len(inputs))]
        tokens = sum(len(str(text)) for text in inputs)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return web.json_response({"object": "list", "data": data, "model": body["model"], "usage": usage})

    async def models(self, request: web.Request) -> web.Response:
        self._remember(request, None)
        if (refused := self._openai_auth(request)) is not None:
            return refused
        ids = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "o1"]
        data = [{"id": i, "object": "model", "created": 0, "owned_by": "stub"} for i in ids]
        return web.json_response({"object": "list", "data": data})

    async def messages(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self._remember(request, body)
        if request.headers.get("x-api-key") != ANTHROPIC_KEY or "Authorization" in request.headers:
            error = {"type": "authentication_error", "message": "invalid x-api-key"}
            return web.json_response({"type": "error", "error": error}, status=401)
        model = body["model"]
        input_tokens = prompt_tokens(body["messages"])
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": "msg_stub",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": "".join(REPLY_WORDS)}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": {"input_tokens": input_tokens, "output_tokens": len(REPLY_WORDS)},
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)

        async def event(name: str, data: dict[str, Any]) -> None:
            await response.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

        message = {
            "id": "msg_stub",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1},
        }
        await event("message_start", {"type": "message_start", "message": message})
        block = {"type": "text", "text": ""}
        await event("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block})
        await event("ping", {"type": "ping"})
        for word in REPLY_WORDS:
            delta = {"type": "text_delta", "text": word}
            await event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        await event("content_block_stop", {"type": "content_block_stop", "index": 0})
        await event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": len(REPLY_WORDS)},
            },
        )
        await event("message_stop", {"type": "message_stop"})
        await response.write_eof()
        return response


def seal_key(plaintext: str, recipient_public_b64: str, credential_id: str) -> dict[str, str]:
    """Keyvault's side of the sealed box: the contracts' one implementation (its known-answer test pins it)."""
    return asdict(seal(plaintext.encode(), recipient_public_b64, credential_id))


@dataclass
class Keyvault:
    """Answers `keyvault.seal.v1` for the credentials it holds, like the real one (queue group `keyvault`)."""

    keys: dict[str, tuple[str, int]] = field(default_factory=dict)
    requests: list[SealRequest] = field(default_factory=list)

    async def handle(self, msg: Msg) -> None:
        request = SealRequest.model_validate_json(msg.data)
        self.requests.append(request)
        held = self.keys.get(request.credential_id)
        if held is None:
            reply = SealReply(ok=False, credential_id=request.credential_id, error=ErrorCode.CREDENTIAL_NOT_FOUND)
        else:
            box = seal_key(held[0], request.recipient_public_key, request.credential_id)
            reply = SealReply(ok=True, credential_id=request.credential_id, state_version=held[1], **box)
        await msg.respond(reply.model_dump_json().encode())


OPENAI_GRANT = "grt_openai"
ANTHROPIC_GRANT = "grt_anthropic"
TENANT = "tnt_1"


@dataclass
class Stack:
    """One test's world: its own NATS, the provider, keyvault, the proxy under uvicorn."""

    OPENAI_GRANT: ClassVar[str] = OPENAI_GRANT
    ANTHROPIC_GRANT: ClassVar[str] = ANTHROPIC_GRANT
    TENANT: ClassVar[str] = TENANT
    OPENAI_KEY: ClassVar[str] = OPENAI_KEY
    ANTHROPIC_KEY: ClassVar[str] = ANTHROPIC_KEY
    REPLY: ClassVar[str] = "".join(REPLY_WORDS)
    grant = staticmethod(make_grant)
    credential = staticmethod(make_credential)

    nats_server: NatsServer
    nc: Any
    js: Any
    provider: Provider
    keyvault: Keyvault
    signer: Signer
    tmp_path: Path
    app: ProxyApp | None = None
    server: uvicorn.Server | None = None
    serving: asyncio.Task[None] | None = None
    port: int = field(default_factory=free_port)
    usage: list[tuple[UsageRecorded, dict[str, str]]] = field(default_factory=list)
    clients: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def publish(self, event: StateEvent) -> None:
        await self.js.publish(event.subject, event.model_dump_json().encode())

    async def populate(self) -> None:
        """Streams ensured, the signing key, two grants and their credentials published, usage followed."""
        await ensure_streams(self.js)
        await self.publish(self.signer.state())
        for event in grants_and_credentials(self.provider):
            await self.publish(event)
        await self.follow_usage()

    async def start_proxy(self, wait_ready: bool = True, **settings: Any) -> ProxyApp:
        values: dict[str, Any] = {
            "nats_url": self.nats_server.url,
            "port": self.port,
            "proxy_id": "prx_test",
            "spool_dir": self.tmp_path / "spool",
            "spool_resend_seconds": 0.2,
            "max_body_bytes": 64 * 1024,
            # The stand-in provider, and a port nothing listens on (the unreachable-provider test).
            "egress_allow": [f"127.0.0.1:{self.provider.port}", "127.0.0.1:9"],
        }
        values.update(settings)
        self.app = create_app(Settings(**values))
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, lifespan="on", ws="none", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.serving = asyncio.create_task(self.server.serve())
        server = self.server
        await eventually(lambda: server.started, what="uvicorn to start")
        if wait_ready:
            await eventually(self.ready, what="the proxy to hydrate")
        return self.app

    def ready(self) -> bool:
        runtime = self.app.runtime if self.app is not None else None
        return runtime is not None and runtime.readiness.detail() is None

    async def stop_proxy(self) -> None:
        if self.server is not None and self.serving is not None:
            self.server.should_exit = True
            await self.serving
        self.server = None
        self.serving = None

    def token(self, grant_id: str = OPENAI_GRANT, **changes: Any) -> str:
        return self.signer.token(grant_id, TENANT, **changes)

    def openai(self, credential: str | None = None) -> openai.AsyncOpenAI:
        client = openai.AsyncOpenAI(base_url=f"{self.url}/v1", api_key=credential or self.token(), max_retries=0)
        self.clients.append(client)
        return client

    def anthropic(self, credential: str | None = None) -> anthropic.AsyncAnthropic:
        client = anthropic.AsyncAnthropic(
            base_url=self.url, api_key=credential or self.token(ANTHROPIC_GRANT), max_retries=0
        )
        self.clients.append(client)
        return client

    async def follow_usage(self) -> None:
        async def collect(msg: Msg) -> None:
            self.usage.append((UsageRecorded.model_validate_json(msg.data), dict(msg.headers or {})))

        await self.js.subscribe(
            UsageRecorded.subject_prefix,
            stream="TG_USAGE",
            cb=collect,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
        )

    async def usage_records(self, count: int) -> list[tuple[UsageRecorded, dict[str, str]]]:
        await eventually(lambda: len(self.usage) >= count, what=f"{count} usage record(s)")
        return self.usage


def grants_and_credentials(provider: Provider) -> list[StateEvent]:
    return [
        make_grant(
            grant_id=OPENAI_GRANT,
            models=("gpt-4o-mini", "text-embedding-3-*", "stub-*"),
            capabilities=(Capability.CHAT, Capability.EMBEDDINGS),
        ),
        make_grant(
            grant_id=ANTHROPIC_GRANT,
            provider="anthropic",
            models=("claude-3-5-haiku-*",),
            capabilities=(Capability.MESSAGES,),
        ),
        make_credential(credential_id="crd_openai", base_url=provider.base_url),
        make_credential(
            credential_id="crd_anthropic", provider="anthropic", api_style="anthropic", base_url=provider.base_url
        ),
    ]


@pytest.fixture
async def bare_stack(fresh_nats: NatsServer, tmp_path: Path, signer: Signer) -> AsyncIterator[Stack]:
    """Everything but the streams' contents and the proxy: the test decides when those come."""
    nc = await nats.connect(fresh_nats.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    provider = Provider()
    runner = web.AppRunner(provider.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", provider.port).start()
    keyvault = Keyvault(keys={"crd_openai": (OPENAI_KEY, 1), "crd_anthropic": (ANTHROPIC_KEY, 1)})
    await nc.subscribe(SealRequest.subject, queue="keyvault", cb=keyvault.handle)
    stack = Stack(fresh_nats, nc, nc.jetstream(), provider, keyvault, signer, tmp_path)
    try:
        yield stack
    finally:
        for client in stack.clients:
            await client.close()
        await stack.stop_proxy()
        await runner.cleanup()
        await nc.close()


@pytest.fixture
async def stack(bare_stack: Stack) -> Stack:
    """Streams ensured, a signing key, two grants and their credentials published, the proxy running."""
    await bare_stack.populate()
    await bare_stack.start_proxy()
    return bare_stack

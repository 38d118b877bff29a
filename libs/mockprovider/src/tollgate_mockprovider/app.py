"""The mock provider as a raw ASGI app: no framework between the socket and the answer, so it stays fast."""

from __future__ import annotations

import asyncio
import hmac
import itertools
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from tollgate_mockprovider import anthropic_api, openai_api
from tollgate_mockprovider.asgi import (
    BodyTooLarge,
    ClientGone,
    Receive,
    Scope,
    Send,
    lifespan,
    read_body,
    send_events,
    send_json,
)
from tollgate_mockprovider.errors import ProviderError, Shape, error_body, status_error
from tollgate_mockprovider.options import BadOption, ErrorInjector, Options, default_options, request_options
from tollgate_mockprovider.settings import Settings
from tollgate_mockprovider.wire import Ident, JsonReply, Reply

MAX_BODY_BYTES = 32 * 1024 * 1024
_HEALTH = {"/healthz": b'{"status":"ok"}', "/readyz": b'{"status":"ready"}'}
_MOCK_PREFIX = b"x-mock-"

Handler = Callable[[dict[str, object], Options, Ident], Reply]


class MockProvider:
    """An ASGI app answering like OpenAI and Anthropic; see the package docstring for the routes and rules."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        # An empty TOLLGATE_MOCK_API_KEY means "unset", not "the empty key".
        key = settings.api_key.get_secret_value() if settings.api_key is not None else ""
        self._key = key.encode() or None
        self._injector = ErrorInjector(settings.error_rate, settings.error_seed)
        self._defaults = default_options(settings)
        # Ids: random per process, then a counter, so no per-request call to the OS for randomness.
        self._id_prefix = secrets.token_hex(6)
        self._counter = itertools.count(1)
        dimensions = settings.embedding_dimensions
        self._posts: dict[str, Handler] = {
            "/v1/chat/completions": openai_api.chat_completions,
            "/v1/messages": anthropic_api.messages,
            "/v1/embeddings": lambda body, _options, _ident: openai_api.embeddings(body, dimensions),
        }
        now = datetime.now(UTC)
        self._openai_models = openai_api.models_body(int(now.timestamp()))
        self._anthropic_models = anthropic_api.models_body(now.isoformat().replace("+00:00", "Z"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        health = _HEALTH.get(path)
        if health is not None:
            await send_json(send, 200, health, [])
            return
        ident = Ident(f"{self._id_prefix}{next(self._counter):012x}", int(time.time()))
        shape = Shape.ANTHROPIC if path == "/v1/messages" else Shape.OPENAI
        request_id = f"req_{ident.hex}"
        id_header = (b"request-id" if shape is Shape.ANTHROPIC else b"x-request-id", request_id.encode())
        try:
            reply, options = await self._answer(scope, receive, path, ident)
        except ProviderError as error:
            headers = [id_header, (b"retry-after", b"1")] if error.status == 429 else [id_header]
            await send_json(send, error.status, error_body(shape, error, request_id), headers)
            return
        except ClientGone:
            return
        if isinstance(reply, JsonReply):
            await send_json(send, 200, reply.body, [id_header])
            return
        chunks = reply.chunks
        if options.cut_after is not None:
            parts = [reply.head, *chunks[: options.cut_after]]
        else:
            parts = [reply.head, *chunks, reply.tail]
        await send_events(send, receive, parts, options.chunk_delay_ms / 1000, [id_header])

    async def _answer(self, scope: Scope, receive: Receive, path: str, ident: Ident) -> tuple[Reply, Options]:
        method: str = scope["method"]
        handler = self._posts.get(path)
        if handler is None and path != "/v1/models":
            raise ProviderError(404, f"Unknown request URL: {method} {path}.", code="unknown_url")
        if (handler is None) != (method == "GET"):
            raise ProviderError(405, f"Method {method} is not allowed on {path}.", code="method_not_allowed")
        keys, mock_headers, anthropic = _read_headers(scope)
        self._authenticate(keys, anthropic or path == "/v1/messages")
        try:
            options = request_options(self._settings, mock_headers) if mock_headers else self._defaults
        except BadOption as exc:
            raise ProviderError(400, str(exc)) from None
        reply: Reply
        if handler is None:
            reply = JsonReply(self._anthropic_models if anthropic else self._openai_models)
        else:
            reply = handler(await _json_body(receive), options, ident)
        if options.latency_ms > 0:
            await asyncio.sleep(options.latency_ms / 1000)
        if options.error_status is not None:
            raise status_error(options.error_status)
        if handler is not None and self._injector.should_fail():
            raise status_error(529 if path == "/v1/messages" else 500)
        return reply, options

    def _authenticate(self, keys: list[bytes], anthropic: bool) -> None:
        if not keys:
            message = "x-api-key header is required" if anthropic else "You didn't provide an API key."
            raise ProviderError(401, message, code="invalid_api_key")
        if self._key is None:
            return
        expected = self._key
        if not any(hmac.compare_digest(key, expected) for key in keys):
            message = "invalid x-api-key" if anthropic else "Incorrect API key provided."
            raise ProviderError(401, message, code="invalid_api_key")


def _read_headers(scope: Scope) -> tuple[list[bytes], dict[bytes, bytes], bool]:
    """The offered keys, the `x-mock-*` headers, and whether the caller speaks Anthropic (`anthropic-version`)."""
    keys: list[bytes] = []
    mock: dict[bytes, bytes] = {}
    anthropic = False
    for name, value in scope["headers"]:
        if name == b"authorization":
            if value[:7].lower() == b"bearer " and value[7:].strip():
                keys.append(value[7:].strip())
        elif name == b"x-api-key":
            if value:
                keys.append(value)
        elif name.startswith(_MOCK_PREFIX):
            mock[name] = value
        elif name == b"anthropic-version":
            anthropic = True
    return keys, mock, anthropic


async def _json_body(receive: Receive) -> dict[str, object]:
    try:
        raw = await read_body(receive, MAX_BODY_BYTES)
    except BodyTooLarge:
        raise ProviderError(413, "Request body too large.") from None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ProviderError(400, "We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise ProviderError(400, "The request body must be a JSON object.")
    return body


def create_app(settings: Settings) -> MockProvider:
    return MockProvider(settings)

"""In-memory fakes of the proxy's ports, following the real adapters' rules (see `tollgate_proxy.ports`).

- FakeUpstream answers from a queue of `Answer`s: JSON, SSE, provider errors, a
  provider that cannot be reached or times out, one that never answers, one that
  breaks off mid-body, and streams that pause on an asyncio.Event between chunks.
  Like the real client, a closed response ends a reader waiting on its body.
- FakeSealedKeys holds plaintext keys per credential id and counts what it was asked.
- RecordingUsageSink keeps every record submitted.
- FakeClock is servicekit's FixedClock with a monotonic clock beside it; it moves only when told to.
- FakeReadiness is ready until given a reason not to be.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tollgate_contracts import CredentialState, ErrorCode, UsageRecorded
from tollgate_proxy.domain.errors import ProxyError, Unavailable, UpstreamFailed, UpstreamTimedOut
from tollgate_servicekit.testing import FixedClock

Chunk = bytes | asyncio.Event
"""A piece of body, or an event to wait for before the next piece (a provider pausing mid-stream)."""


@dataclass
class Answer:
    """What the fake provider does with one request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    chunks: list[Chunk] = field(default_factory=list)
    broken: ProxyError | None = None
    """Raised once the chunks are out: a body cut short."""
    hang: bool = False
    """After the chunks, silence until the response is closed."""
    refused: ProxyError | None = None
    """Raised by `send` itself: the provider could not be reached, or timed out before its headers."""
    never_answers: bool = False
    """`send` waits until cancelled (a provider that accepts the request and says nothing)."""

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Answer:
        body = json.dumps(payload).encode()
        head = {"content-type": "application/json", "content-length": str(len(body)), **(headers or {})}
        return cls(status=status, headers=head, chunks=[body])

    @classmethod
    def sse(cls, events: list[Chunk], *, broken: ProxyError | None = None, hang: bool = False) -> Answer:
        return cls(headers={"content-type": "text/event-stream"}, chunks=list(events), broken=broken, hang=hang)

    @classmethod
    def unreachable(cls) -> Answer:
        return cls(refused=UpstreamFailed("the provider could not be reached (ConnectionRefusedError)"))

    @classmethod
    def timed_out(cls) -> Answer:
        return cls(refused=UpstreamTimedOut("the provider did not answer in time"))

    @classmethod
    def silent(cls) -> Answer:
        return cls(never_answers=True)


@dataclass(frozen=True)
class SentRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class FakeResponse:
    """Implements `ports.UpstreamResponse` over an Answer."""

    def __init__(self, answer: Answer) -> None:
        self.status = answer.status
        self.headers: dict[str, str] = dict(answer.headers)
        self._chunks: deque[Chunk] = deque(answer.chunks)
        self._broken = answer.broken
        self._hang = answer.hang
        self._closed = asyncio.Event()
        self.finished = False
        """True once the whole body was read."""

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def next_chunk(self) -> bytes | None:
        while self._chunks:
            if self.closed:
                raise UpstreamFailed("the answer was abandoned")
            item = self._chunks.popleft()
            if isinstance(item, bytes):
                return item
            await _first(item, self._closed)
        if self.closed and not self.finished:
            raise UpstreamFailed("the answer was abandoned")
        if self._broken is not None:
            raise self._broken
        if self._hang:
            await self._closed.wait()
            raise UpstreamFailed("the answer was abandoned")
        self.finished = True
        return None

    async def read(self, limit: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        while size < limit and (chunk := await self.next_chunk()) is not None:
            parts.append(chunk)
            size += len(chunk)
        return b"".join(parts)[:limit]

    def close(self) -> None:
        self._closed.set()

    async def __aenter__(self) -> FakeResponse:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


async def _first(*events: asyncio.Event) -> None:
    """Return when any of the events is set."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


class FakeUpstream:
    """Implements `ports.Upstream`: answers each request with the next queued Answer (else `default`)."""

    def __init__(self, default: Answer | None = None) -> None:
        self.default = default
        self.requests: list[SentRequest] = []
        self.responses: list[FakeResponse] = []
        self._queue: deque[Answer] = deque()

    def reply(self, *answers: Answer) -> None:
        """Queue answers for the next requests, in order."""
        self._queue.extend(answers)

    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> FakeResponse:
        self.requests.append(SentRequest(method, url, dict(headers), body))
        answer = self._queue.popleft() if self._queue else self.default
        if answer is None:
            raise AssertionError(f"the fake upstream has no answer for {method} {url}")
        if answer.refused is not None:
            raise answer.refused
        if answer.never_answers:
            await asyncio.Event().wait()  # until the caller is cancelled
        response = FakeResponse(answer)
        self.responses.append(response)
        return response


class FakeSealedKeys:
    """Implements `ports.SealedKeys` from a dict of plaintext keys by credential id."""

    def __init__(self, keys: Mapping[str, str] | None = None) -> None:
        self.keys: dict[str, str] = dict(keys or {})
        self.asked: list[str] = []

    async def key_for(self, credential: CredentialState) -> str:
        self.asked.append(credential.credential_id)
        key = self.keys.get(credential.credential_id)
        if key is None:
            code = ErrorCode.CREDENTIAL_NOT_FOUND
            raise Unavailable(code, f"keyvault refused the provider key ({code.value})")
        return key


class RecordingUsageSink:
    """Implements `ports.UsageSink`, keeping every record."""

    def __init__(self) -> None:
        self.records: list[UsageRecorded] = []

    def submit(self, record: UsageRecorded) -> None:
        self.records.append(record)


class FakeClock(FixedClock):
    """Implements `ports.Clock`: servicekit's FixedClock (default: now, to the second) with a monotonic clock
    that moves with it, only when told to."""

    def __init__(self, start: datetime | None = None, monotonic: float = 1000.0) -> None:
        super().__init__(start if start is not None else datetime.now(UTC).replace(microsecond=0))
        self.mono = monotonic

    def time(self) -> float:
        return self.now().timestamp()

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> datetime:
        self.mono += seconds
        return super().advance(seconds)


class FakeReadiness:
    """Implements `ports.Readiness`: ready while `reason` is None."""

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason

    def check(self) -> None:
        if self.reason is not None:
            raise Unavailable(ErrorCode.POLICY_STALE, self.reason, retry_after=5)

    def detail(self) -> str | None:
        return self.reason

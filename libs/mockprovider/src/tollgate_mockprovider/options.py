"""Per-request behaviour: the settings' defaults, overridden by `x-mock-*` headers, plus seeded error injection.

Headers (all optional):
- `x-mock-latency-ms`: wait before the first byte.
- `x-mock-chunk-delay-ms`: wait between two content chunks of a stream.
- `x-mock-chunks`: words in the reply (one per stream content chunk).
- `x-mock-error: <status>`: answer with that HTTP status in the provider's own error shape.
- `x-mock-stream-cut-after: <n>`: end a stream cleanly after n content chunks, without the final chunks
  (no finish reason, no usage, no `[DONE]` / `message_stop`), as a dropped upstream would.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tollgate_mockprovider.settings import Settings

LATENCY = b"x-mock-latency-ms"
CHUNK_DELAY = b"x-mock-chunk-delay-ms"
CHUNKS = b"x-mock-chunks"
ERROR = b"x-mock-error"
CUT_AFTER = b"x-mock-stream-cut-after"
HEADERS = frozenset({LATENCY, CHUNK_DELAY, CHUNKS, ERROR, CUT_AFTER})

_MAX_DELAY_MS = 600_000.0
_MAX_CHUNKS = 100_000


class BadOption(ValueError):
    """An `x-mock-*` header that is not a valid value."""


@dataclass(frozen=True, slots=True)
class Options:
    latency_ms: float
    chunk_delay_ms: float
    chunks: int
    error_status: int | None
    cut_after: int | None


def _number(headers: dict[bytes, bytes], name: bytes, default: float, upper: float) -> float:
    raw = headers.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadOption(f"{name.decode()} must be a number") from None
    if not 0 <= value <= upper:
        raise BadOption(f"{name.decode()} must be between 0 and {upper:g}")
    return value


def _integer(headers: dict[bytes, bytes], name: bytes, lower: int, upper: int) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadOption(f"{name.decode()} must be an integer") from None
    if not lower <= value <= upper:
        raise BadOption(f"{name.decode()} must be between {lower} and {upper}")
    return value


def default_options(settings: Settings) -> Options:
    return Options(settings.latency_ms, settings.chunk_delay_ms, settings.chunks, None, None)


def request_options(settings: Settings, headers: dict[bytes, bytes]) -> Options:
    """The options of one request; `headers` holds only the lower-cased `x-mock-*` headers it carried."""
    if not headers:
        return default_options(settings)
    chunks = _integer(headers, CHUNKS, 1, _MAX_CHUNKS)
    return Options(
        latency_ms=_number(headers, LATENCY, settings.latency_ms, _MAX_DELAY_MS),
        chunk_delay_ms=_number(headers, CHUNK_DELAY, settings.chunk_delay_ms, _MAX_DELAY_MS),
        chunks=settings.chunks if chunks is None else chunks,
        error_status=_integer(headers, ERROR, 400, 599),
        cut_after=_integer(headers, CUT_AFTER, 0, _MAX_CHUNKS),
    )


class ErrorInjector:
    """Decides which requests fail, from a seeded generator: the same seed fails the same request numbers."""

    def __init__(self, rate: float, seed: int) -> None:
        self._rate = rate
        self._random = random.Random(seed)  # noqa: S311 - fault injection, not cryptography

    def should_fail(self) -> bool:
        return self._rate > 0 and self._random.random() < self._rate

"""What the proxy reads from a request body and writes to the provider: pure functions, no I/O.

The body is parsed once with orjson (several times cheaper than json on every
request); it refuses what no provider takes either (NaN, Infinity, lone
surrogates, integers beyond 64 bits), and those bodies get a 400.
"""

from __future__ import annotations

from typing import Any

import orjson

from tollgate_contracts import CredentialState
from tollgate_proxy.domain.errors import InvalidRequest

ANTHROPIC_VERSION = "2023-06-01"
"""Sent to an Anthropic-style provider when the client did not say which version it speaks."""


def parse_payload(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object (InvalidRequest if it is not one)."""
    try:
        payload = orjson.loads(body)
    except ValueError:
        raise InvalidRequest("request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidRequest("request body must be a JSON object")
    return payload


def requested_model(payload: dict[str, Any]) -> str:
    """The `model` the request names (InvalidRequest without one)."""
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("request body has no `model`")
    return model


def ask_for_usage(payload: dict[str, Any]) -> bool:
    """Make an OpenAI stream end with its usage chunk; True when the client had not asked for it itself."""
    options = payload.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage") is True:
        return False
    payload["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
    return True


def encode_payload(payload: dict[str, Any]) -> bytes:
    """The body re-encoded after the proxy changed it."""
    return orjson.dumps(payload)


def upstream_headers(credential: CredentialState, key: str, passed: dict[str, str]) -> dict[str, str]:
    """What the provider gets: its key in its own style, JSON, and the pass-through headers."""
    headers = {"content-type": "application/json", "accept-encoding": "identity", **passed}
    if credential.api_style == "anthropic":
        headers["x-api-key"] = key
        headers.setdefault("anthropic-version", ANTHROPIC_VERSION)
    else:
        headers["authorization"] = f"Bearer {key}"
    return headers

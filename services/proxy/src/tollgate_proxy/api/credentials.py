"""What the proxy reads from a request's headers: the credential, the declared length, a few pass-throughs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tollgate_proxy.domain.errors import InvalidRequest

PASSED_THROUGH = {
    b"anthropic-version": "anthropic-version",
    b"anthropic-beta": "anthropic-beta",
    b"openai-beta": "openai-beta",
    b"accept": "accept",
}
"""Client headers the provider may need; everything else (cookies, the client's credential) stays here."""


@dataclass(slots=True)
class RequestHeaders:
    credential: str | None = None
    dpop: bool = False
    """The credential came as `Authorization: DPoP …` (RFC 9449), not `Bearer`."""
    proofs: list[str] | None = None
    """The `DPoP` proof headers, if any came."""
    content_length: int | None = None
    passed_through: dict[str, str] = field(default_factory=dict)


def read_headers(raw: Iterable[tuple[bytes, bytes]]) -> RequestHeaders:
    """Pick the credential from `Authorization: Bearer` or `DPoP` (preferred) or `x-api-key` (the anthropic SDK
    sends either), and the DPoP proofs."""
    bearer: str | None = None
    api_key: str | None = None
    result = RequestHeaders()
    for name, value in raw:
        if name == b"authorization":
            scheme, _, rest = value.decode("latin-1").partition(" ")
            scheme = scheme.lower()
            if (scheme == "bearer" or scheme == "dpop") and (token := rest.strip()):
                bearer = token
                result.dpop = scheme == "dpop"
        elif name == b"x-api-key":
            api_key = value.decode("latin-1").strip() or None
        elif name == b"content-length":
            try:
                result.content_length = int(value)
            except ValueError:
                raise InvalidRequest("Content-Length is not a number") from None
        elif name == b"dpop":
            if result.proofs is None:
                result.proofs = []
            result.proofs.append(value.decode("latin-1").strip())
        else:
            passed = PASSED_THROUGH.get(name)
            if passed is not None:
                result.passed_through[passed] = value.decode("latin-1")
    result.credential = bearer or api_key
    return result

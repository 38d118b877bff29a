"""The admin bearer check: `Authorization: Bearer <admin key>`, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Header, Request
from pydantic import SecretStr
from starlette.exceptions import HTTPException

KeyGetter = Callable[[Request], SecretStr | str | None]


def admin_guard(get_key: KeyGetter) -> Callable[..., None]:
    """A FastAPI dependency (`dependencies=[Depends(admin_guard(...))]`) admitting the admin key only.

    `get_key(request)` returns the expected key, or None while it is not loaded (then 503). A missing or wrong
    key is 401 with `WWW-Authenticate: Bearer`; the message never repeats what was sent.
    """

    def require_admin(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
        expected = get_key(request)
        if expected is None:
            raise HTTPException(503, "the admin key is not loaded yet; try again shortly", {"Retry-After": "1"})
        scheme, _, presented = (authorization or "").partition(" ")
        presented = presented.strip()
        if scheme.lower() != "bearer" or not presented:
            raise HTTPException(401, "missing admin key: send 'Authorization: Bearer <admin key>'", _BEARER)
        if not matches(presented, expected):
            raise HTTPException(401, "invalid admin key", _BEARER)

    return require_admin


def matches(presented: str, expected: SecretStr | str) -> bool:
    """Constant-time equality. Both sides are hashed first, so neither the key's length nor a shared prefix
    shows in the time taken."""
    key = expected.get_secret_value() if isinstance(expected, SecretStr) else expected
    return hmac.compare_digest(
        hashlib.sha256(presented.encode()).digest(), hashlib.sha256(key.encode()).digest()
    ) and bool(key)


_BEARER = {"WWW-Authenticate": "Bearer"}

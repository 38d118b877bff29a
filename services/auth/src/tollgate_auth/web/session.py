"""Browser sessions for auth's pages: the session cookie, the signed-in owner, sign-in redirects and CSRF.

The cookie holds a random id (256 bits); the database keeps only its SHA-256 (`accounts.session_hash`). A browser
that has not signed in gets an id too, unstored, so the sign-in form itself carries a CSRF token; signing in
always issues a fresh id (no session fixation). The CSRF token is HMAC-SHA256 of a fixed label under the session
id: only the server and this browser's page can know it (the cookie is HttpOnly, and the token does not reveal
the id), it changes with the session, and it is checked in constant time — a synchronizer token that needs no
second column. With an https public URL the cookie is `__Host-` prefixed, so no sibling subdomain can plant one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from tollgate_auth.runtime import Runtime

COOKIE = "tollgate_session"
SECURE_COOKIE = "__Host-tollgate_session"
CSRF_FIELD = "csrf"
SIGNIN_PATH = "/signin"
_CSRF_LABEL = b"tollgate csrf v1"
_NEW_ID = "tollgate_new_session_id"
_OWNER = "tollgate_owner"


class CsrfRejected(Exception):
    """A form post without the token of this browser's session; answered with a 403 page."""


@dataclass(frozen=True)
class Owner:
    """The signed-in person, as the pages and the consent flow need them."""

    user_id: str
    email: str
    tenant_id: str
    role: str

    @property
    def may_consent(self) -> bool:
        """Whether this owner may approve an app's request: every role but `read-only` (which may only look)."""
        return self.role != "read-only"


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def is_https(request: Request) -> bool:
    return _runtime(request).settings.public_url.startswith("https://")


def cookie_name(request: Request) -> str:
    return SECURE_COOKIE if is_https(request) else COOKIE


def session_id(request: Request) -> str | None:
    """The id this browser's cookie carries (or the one this response will set), None if neither."""
    new: str | None = getattr(request.state, _NEW_ID, None)
    return new or request.cookies.get(cookie_name(request)) or None


def _ensure_session_id(request: Request) -> str:
    existing = session_id(request)
    if existing is not None:
        return existing
    fresh = secrets.token_urlsafe(32)
    setattr(request.state, _NEW_ID, fresh)
    return fresh


def set_session_cookie(request: Request, response: Response, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(
        cookie_name(request),
        value,
        max_age=max_age,
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )


def send_new_session_id(request: Request, response: Response) -> None:
    """Set the cookie when this request created the browser's (unsigned-in) id."""
    new: str | None = getattr(request.state, _NEW_ID, None)
    if new is not None and request.cookies.get(cookie_name(request)) != new:
        set_session_cookie(request, response, new)


def start_session(request: Request, response: Response, new_id: str) -> None:
    """Put a freshly signed-in session's id in the cookie (it lives as long as the session may)."""
    setattr(request.state, _NEW_ID, new_id)
    max_age = _runtime(request).settings.session_absolute_seconds
    set_session_cookie(request, response, new_id, max_age=max_age)


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(cookie_name(request), path="/", secure=is_https(request), httponly=True, samesite="lax")


async def current_owner(request: Request) -> Owner | None:
    """The owner this browser is signed in as, or None (no cookie; unknown, idle or expired session)."""
    if hasattr(request.state, _OWNER):
        cached: Owner | None = getattr(request.state, _OWNER)
        return cached
    value = request.cookies.get(cookie_name(request))
    user = None if not value else await _runtime(request).service.accounts.session_user(value)
    owner = None if user is None else Owner(user.id, user.email, user.tenant_id, user.role.value)
    setattr(request.state, _OWNER, owner)
    return owner


def known_owner(request: Request) -> Owner | None:
    """The owner `current_owner` found for this request already (None if it was not asked): for the page header."""
    owner: Owner | None = getattr(request.state, _OWNER, None)
    return owner


def local_path(value: str | None) -> str | None:
    """`value` if it is a path on this server (`/…`, not `//host` nor `/\\host`, no scheme), else None."""
    if not value or not value.startswith("/") or "\\" in value or any(ord(c) < 0x21 for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return None
    return value


def signin_redirect(request: Request) -> RedirectResponse:
    """303 to the sign-in page, which comes back to this URL (path and query only) once signed in."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{SIGNIN_PATH}?next={quote(here, safe='')}", status_code=303)


def csrf_token(request: Request) -> str:
    """The token this browser's forms carry; creates the browser's session id when it has none yet."""
    key = _ensure_session_id(request).encode()
    digest = hmac.new(key, _CSRF_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def check_csrf(request: Request, form: Mapping[str, str]) -> None:
    """`CsrfRejected` unless `form` carries this session's token (compared in constant time)."""
    sent = form.get(CSRF_FIELD)
    current = request.cookies.get(cookie_name(request))
    if not isinstance(sent, str) or not sent or not current:
        raise CsrfRejected("the form has no valid CSRF token")
    key = current.encode()
    expected = base64.urlsafe_b64encode(hmac.new(key, _CSRF_LABEL, hashlib.sha256).digest()).rstrip(b"=").decode()
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRejected("the form has no valid CSRF token")

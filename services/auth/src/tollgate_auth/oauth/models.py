"""What Authlib's grants and endpoints see: clients, authorization codes and the "user" (a grant), as its mixins.

Immutable values read from the store; the store turns rows into them and back.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin

PUBLIC = "none"
"""`token_endpoint_auth_method` of a public client (no secret): it must use PKCE S256."""


def digest(secret: str) -> str:
    """SHA-256 hex of a client secret or a code: what is stored instead of the value."""
    return hashlib.sha256(secret.encode()).hexdigest()


def is_loopback_redirect(uri: str) -> bool:
    """An `http` redirect to a loopback IP literal (RFC 8252 §7.3), whose port the app picks at run time."""
    parts = urlsplit(uri)
    if parts.scheme != "http" or parts.hostname is None:
        return False
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def acceptable_redirect(uri: str) -> bool:
    """What a client may register as a redirect URI: https with a host, or http to a loopback IP literal
    (RFC 8252 §7.3, §8.3: not `localhost`); never a fragment (RFC 6749 §3.1.2) nor user information."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 -- a malformed port raises here
    except ValueError:
        return False
    if parts.fragment or "@" in parts.netloc or not parts.hostname:
        return False
    return parts.scheme == "https" or is_loopback_redirect(uri)


def redirect_matches(registered: str, asked: str) -> bool:
    """Exact string match, except the port of a loopback redirect (RFC 8252 §7.3): only the port may vary, so
    user information (`http://x@127.0.0.1/…`) must match too."""
    if registered == asked:
        return True
    if not (is_loopback_redirect(registered) and is_loopback_redirect(asked)):
        return False
    a, b = urlsplit(registered), urlsplit(asked)
    if "@" in a.netloc or "@" in b.netloc:
        return False
    return (a.scheme, a.hostname, a.path, a.query, a.fragment) == (b.scheme, b.hostname, b.path, b.query, b.fragment)


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_name: str | None
    metadata: dict[str, Any]
    secret_hash: str | None
    created_at: datetime

    @property
    def name(self) -> str:
        """What the consent page shows: the registered name, else the id."""
        return self.client_name or self.client_id

    @property
    def auth_method(self) -> str:
        return str(self.metadata.get("token_endpoint_auth_method") or "client_secret_basic")

    @property
    def is_public(self) -> bool:
        return self.auth_method == PUBLIC

    @property
    def redirect_uris(self) -> list[str]:
        return list(self.metadata.get("redirect_uris") or [])

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Only an unambiguous one: with several registered, the request must name it.
        uris = self.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        # Scopes carry no permission here (authorization_details do); any asked scope is kept as said.
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return any(redirect_matches(registered, redirect_uri) for registered in self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(self.secret_hash, digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint == "token":
            return method == self.auth_method
        # Revocation and introspection accept what the token endpoint accepts.
        return method == self.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in (self.metadata.get("response_types") or ["code"])

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in (self.metadata.get("grant_types") or ["authorization_code"])


@dataclass(frozen=True)
class GrantUser:
    """The "user" Authlib's grants carry: the grant the owner approved. `sub` of the tokens is its id."""

    grant_id: str
    tenant_id: str
    authorization_details: list[dict[str, Any]] = field(default_factory=list)
    expires_at: datetime | None = None
    extra_claims: dict[str, Any] = field(default_factory=dict)
    """Claims its access tokens carry besides the standard ones: `cnf` (DPoP, RFC 9449), `act` (RFC 8693)."""

    def get_user_id(self) -> str:
        return self.grant_id


@dataclass(frozen=True)
class AuthorizationCode(AuthorizationCodeMixin):  # type: ignore[misc]
    code_hash: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    grant_id: str
    tenant_id: str
    resource: str | None
    created_at: datetime
    expires_at: datetime

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True)
class RefreshToken(TokenMixin):  # type: ignore[misc]
    """A stored refresh token (never its value: its hash)."""

    token_hash: str
    family_id: str
    client_id: str
    grant_id: str
    tenant_id: str
    scope: str
    access_jti: str
    access_expires_at: datetime
    created_at: datetime
    expires_at: datetime
    jkt: str | None = None
    """The DPoP key a public client's refresh token is bound to (RFC 9449 §5), its thumbprint."""

    def check_client(self, client: ClientMixin) -> bool:
        return bool(client.get_client_id() == self.client_id)

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.created_at).total_seconds())

    def is_expired(self) -> bool:
        # Expiry is checked when the token is taken from the store (with the service's clock).
        return False

    def is_revoked(self) -> bool:
        return False


@dataclass(frozen=True)
class Taken:
    """What presenting a refresh token found: the token (first use), or the family it betrays (reuse)."""

    token: RefreshToken | None
    reused_family: str | None = None

"""Authlib's `AuthorizationServer` for auth: requests come in read in full (`requests.py`), answers go out as
`Answer` values the routes turn into Starlette responses; every storage hook goes through the `Bridge`."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from authlib.common.encoding import json_dumps
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc9207 import IssuerParameter

from tollgate_auth.oauth.context import OAuthContext
from tollgate_auth.oauth.documents import DocumentRefused, names_a_document
from tollgate_auth.oauth.dpop_binding import bound_key
from tollgate_auth.oauth.errors import short_description
from tollgate_auth.oauth.grants import revoke_family
from tollgate_auth.oauth.models import AuthorizationCode, Client, GrantUser, RefreshToken, digest

log = logging.getLogger(__name__)


@dataclass
class Answer:
    """What Authlib returns, before it becomes an HTTP response."""

    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != "location"] + [("Location", value)]

    @property
    def json(self) -> dict[str, Any]:
        """The body as a JSON object (Authlib hands dictionaries or already-encoded strings)."""
        if isinstance(self.body, dict):
            return self.body
        decoded: dict[str, Any] = json.loads(self.body) if self.body else {}
        return decoded

    def encoded(self) -> str:
        return self.body if isinstance(self.body, str) else json_dumps(self.body)


class Issuer(IssuerParameter):  # type: ignore[misc]
    """RFC 9207: `iss` on every authorization response, errors included."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer


class TollgateAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, ctx: OAuthContext) -> None:
        super().__init__(scopes_supported=None)
        self.ctx = ctx
        self.register_extension(lambda server: Issuer(ctx.issuer)(server))

    def query_client(self, client_id: str) -> Client | None:
        if not client_id:
            return None
        ctx = self.ctx
        if names_a_document(client_id, loopback=ctx.settings.client_metadata_loopback):
            try:
                return ctx.bridge.wait(ctx.documents.client(client_id))
            except DocumentRefused as exc:
                # Authlib answers invalid_client for a missing client; say why in the log, not to the caller.
                log.info("client %s refused: %s", client_id[:100], exc.reason)
                return None
        return ctx.bridge.wait(ctx.store().get_client(client_id))

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Access tokens are JWTs (never stored); a refresh token is stored hashed, in the family of the one it
        replaces (or a new family, from a code), with the jti of the access token issued beside it."""
        ctx = self.ctx
        previous: RefreshToken | None = request.refresh_token
        claims = jwt.decode(token["access_token"], options={"verify_signature": False})
        family_id = previous.family_id if previous else ctx.ids.new_id("rtf")
        code: AuthorizationCode | None = request.authorization_code
        if code is not None:
            family = family_id if "refresh_token" in token else None
            issued = datetime.fromtimestamp(claims["exp"], UTC)
            ctx.bridge.wait(ctx.store().record_code_tokens(code.code_hash, claims["jti"], issued, family))
        if "refresh_token" not in token:
            return None
        now = ctx.clock.now()
        user: GrantUser = request.user
        expires = now + timedelta(seconds=ctx.settings.refresh_token_ttl_seconds)
        if user.expires_at is not None:
            expires = min(expires, user.expires_at)
        stored = RefreshToken(
            token_hash=digest(token["refresh_token"]),
            family_id=family_id,
            client_id=request.client.get_client_id(),
            grant_id=user.grant_id,
            tenant_id=user.tenant_id,
            scope=token.get("scope") or "",
            access_jti=claims["jti"],
            access_expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            created_at=now,
            expires_at=expires,
            jkt=bound_key(request),
        )
        if not ctx.bridge.wait(ctx.store().add_refresh(stored)):
            # A replay of the token this one replaces revoked the family while it was being rotated: the new
            # pair dies with it (its access token announced revoked), and the caller gets invalid_grant.
            ctx.bridge.wait(revoke_family(ctx, family_id, "refresh_token.reused"))
            raise InvalidGrantError("the refresh token was reused; its family is revoked")
        return None

    def get_consent_grant(self, request: Any = None, end_user: Any = None) -> Any:
        try:
            return super().get_consent_grant(request, end_user)
        except ValueError as exc:
            # Authlib quotes a refused redirect_uri or response_type in the error it raises, and that error's own
            # constructor refuses a description with `"`, `\` or non-ASCII (RFC 6749 §4.1.2.1): a 500 otherwise.
            if "forbidden characters" not in str(exc):
                raise
            raise InvalidRequestError("redirect_uri or response_type: not one this client registered") from None

    def handle_error_response(self, request: Any, error: OAuth2Error) -> Answer:
        error.description = short_description(error.description)
        answer: Answer = super().handle_error_response(request, error)
        return answer

    def create_oauth2_request(self, request: Any) -> Any:
        return request

    def create_json_request(self, request: Any) -> Any:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Answer:
        return Answer(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def error_redirect(self, error: OAuth2Error, state: str | None) -> Answer:
        """An error found before consent: redirected to the client (with `state` and `iss`) when its redirect URI
        was verified, else shown (never redirected to an unverified URI, RFC 6749 §4.1.2.1)."""
        error.state = state
        answer: Answer = self.handle_error_response(None, error)
        if answer.location:
            answer.location = add_params_to_uri(answer.location, {"iss": self.ctx.issuer})
        return answer

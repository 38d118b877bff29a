"""Authlib's grants with auth's storage behind them, and the extensions for what Authlib lacks.

- `CodeGrant`: RFC 6749 §4.1 authorization code; codes are stored hashed and taken once (a second exchange,
  or one after the code's short life, is `invalid_grant`); the token response adds `grant_id` and the granted
  `authorization_details` (RFC 9396 §7).
- `S256Only`: RFC 7636 with `S256` required of every client (OAuth 2.1; `plain` is refused).
- `ResourceIndicator`: RFC 8707 — a `resource` other than the proxy's canonical URL is `invalid_target`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge

from tollgate_auth.domain.errors import GrantNotFound
from tollgate_auth.oauth.context import OAuthContext
from tollgate_auth.oauth.details import granted_details
from tollgate_auth.oauth.errors import InvalidTargetError
from tollgate_auth.oauth.models import AuthorizationCode, GrantUser, digest
from tollgate_contracts import GrantStatus

S256 = "S256"


class S256Only(CodeChallenge):  # type: ignore[misc]
    SUPPORTED_CODE_CHALLENGE_METHOD = [S256]

    def validate_code_challenge(self, grant: Any, redirect_uri: Any) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256")
        if data.get("code_challenge_method") != S256:
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: AuthorizationCode) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: AuthorizationCode) -> str:
        return authorization_code.code_challenge_method


class ResourceIndicator:
    """RFC 8707: the only resource is the proxy (`settings.resource`); any other named one is refused."""

    def __init__(self, resource: str) -> None:
        self.resource = resource

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self.check)
        grant.register_hook("after_validate_token_request", self.check)

    def check(self, grant: Any, _result: Any = None) -> None:
        for value in grant.request.payload.datalist.get("resource", []):
            if value.rstrip("/") != self.resource:
                raise InvalidTargetError(f"the only resource here is {self.resource}")


def ctx_of(grant: Any) -> OAuthContext:
    ctx: OAuthContext = grant.server.ctx
    return ctx


class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code: str, request: Any) -> None:
        ctx = ctx_of(self)
        user: GrantUser = request.user
        data = request.payload.data
        now = ctx.clock.now()
        stored = AuthorizationCode(
            code_hash=digest(code),
            client_id=request.client.get_client_id(),
            redirect_uri=data.get("redirect_uri") or "",
            scope=request.scope or "",
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            grant_id=user.grant_id,
            tenant_id=user.tenant_id,
            resource=data.get("resource"),
            created_at=now,
            expires_at=now + timedelta(seconds=ctx.settings.authorization_code_ttl_seconds),
        )
        ctx.bridge.wait(ctx.store().add_code(stored))

    def query_authorization_code(self, code: str, client: Any) -> AuthorizationCode | None:
        ctx = ctx_of(self)
        return ctx.bridge.wait(ctx.store().take_code(digest(code), client.get_client_id(), ctx.clock.now()))

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        # Already taken (marked used) by query_authorization_code.
        return None

    def authenticate_user(self, authorization_code: AuthorizationCode) -> GrantUser | None:
        """The grant the code was issued for, if it is still active (revoked meanwhile: `invalid_grant`)."""
        ctx = ctx_of(self)
        try:
            grant = ctx.bridge.wait(ctx.service().get_grant(authorization_code.grant_id))
        except GrantNotFound:
            return None
        if grant.status is not GrantStatus.ACTIVE or (grant.expires_at and grant.expires_at <= ctx.clock.now()):
            return None
        return GrantUser(grant.id, grant.tenant_id, [granted_details(grant)], grant.expires_at)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        status, token, headers = super().create_token_response()
        user: GrantUser = self.request.user
        token["grant_id"] = user.grant_id
        token["authorization_details"] = user.authorization_details
        return status, token, headers

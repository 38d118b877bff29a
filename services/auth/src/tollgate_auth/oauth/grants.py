"""Authlib's grants with auth's storage behind them, and the extensions for what Authlib lacks.

- `CodeGrant`: RFC 6749 §4.1 authorization code; codes are stored hashed and taken once (a second exchange,
  or one after the code's short life, is `invalid_grant`); the token response adds `grant_id` and the granted
  `authorization_details` (RFC 9396 §7).
- `RefreshGrant`: RFC 6749 §6, opaque refresh tokens stored hashed and rotated on every use; a reused one
  revokes its family and the family's live access tokens.
- `S256Only`: RFC 7636 with `S256` required of every client (OAuth 2.1; `plain` is refused).
- `ResourceIndicator`: RFC 8707 — a `resource` other than the proxy's canonical URL is `invalid_target`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge

from tollgate_auth.adapters.oauth_tables import AuthorizationCodeRow
from tollgate_auth.domain.errors import GrantNotFound
from tollgate_auth.oauth.context import OAuthContext
from tollgate_auth.oauth.details import granted_details
from tollgate_auth.oauth.errors import InvalidTargetError
from tollgate_auth.oauth.models import AuthorizationCode, GrantUser, RefreshToken, digest
from tollgate_contracts import GrantStatus

S256 = "S256"
UNRESERVED_43_128 = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
"""RFC 7636 §4.1 and §4.2: what a code_verifier and a code_challenge are made of (matched in full)."""


class S256Only(CodeChallenge):  # type: ignore[misc]
    SUPPORTED_CODE_CHALLENGE_METHOD = [S256]

    def validate_code_challenge(self, grant: Any, redirect_uri: Any) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256")
        if data.get("code_challenge_method") != S256:
            raise InvalidRequestError("code_challenge_method must be S256")
        if not UNRESERVED_43_128.fullmatch(data["code_challenge"]):
            # Authlib's pattern ends in `$`, which also matches before a final newline.
            raise InvalidRequestError("code_challenge: 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        verifier = grant.request.form.get("code_verifier")
        if verifier is not None and not UNRESERVED_43_128.fullmatch(verifier):
            raise InvalidRequestError("code_verifier: 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
        super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code: AuthorizationCode) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: AuthorizationCode) -> str:
        return authorization_code.code_challenge_method


class ResourceIndicator:
    """RFC 8707: the only resource is the proxy (`settings.resource`); any other named one is refused.

    Checked on the authorization request and on every token request, before the grant validates it: Authlib 1.9
    runs `after_validate_token_request` hooks on the code grant only (refresh, client credentials and device do
    not decorate `validate_token_request`), and checking first means a refused request uses up no code or
    refresh token."""

    def __init__(self, resource: str) -> None:
        self.resource = resource

    def __call__(self, grant: Any) -> None:
        grant.register_hook("after_validate_authorization_request_payload", self.check)
        validate = grant.validate_token_request

        def checked_first() -> None:
            self.check(grant)
            validate()

        # Per grant instance (Authlib builds one per request and applies its extensions to it).
        grant.validate_token_request = checked_first

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
        store, client_id = ctx.store(), client.get_client_id()
        taken = ctx.bridge.wait(store.take_code(digest(code), client_id, ctx.clock.now()))
        if taken is None:
            replayed = ctx.bridge.wait(store.replayed_code(digest(code), client_id))
            if replayed is not None:
                # RFC 6749 §4.1.2: a code used twice may have been stolen; what it gave out is revoked.
                ctx.bridge.wait(revoke_code_tokens(ctx, replayed))
        return taken

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        # Already taken (marked used) by query_authorization_code.
        return None

    def authenticate_user(self, authorization_code: AuthorizationCode) -> GrantUser | None:
        return grant_user(ctx_of(self), authorization_code.grant_id)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        return with_grant(self, super().create_token_response())


def grant_user(ctx: OAuthContext, grant_id: str) -> GrantUser | None:
    """The grant behind a code or refresh token, if it is still active (revoked or expired: `invalid_grant`)."""
    try:
        grant = ctx.bridge.wait(ctx.service().get_grant(grant_id))
    except GrantNotFound:
        return None
    now = ctx.clock.now()
    if grant.status is not GrantStatus.ACTIVE or (grant.expires_at and grant.expires_at <= now):
        return None
    return GrantUser(grant.id, grant.tenant_id, [granted_details(grant, now)], grant.expires_at)


Answer = tuple[int, dict[str, Any], list[tuple[str, str]]]


def with_grant(grant: Any, answer: Answer) -> Answer:
    """The token response with `grant_id` and the granted `authorization_details` (RFC 9396 §7)."""
    status, token, headers = answer
    user: GrantUser = grant.request.user
    token["grant_id"] = user.grant_id
    token["authorization_details"] = user.authorization_details
    return status, token, headers


class RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    """RFC 6749 §6 with rotation on every use (RFC 9700 §4.14.2): presenting a used refresh token revokes its
    whole family and the family's live access tokens (`TokenRevoked` on the bus, an audit event), and is
    `invalid_grant`."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshToken | None:
        ctx = ctx_of(self)
        store = ctx.store()
        taken = ctx.bridge.wait(store.take_refresh(digest(refresh_token), ctx.clock.now()))
        if taken.reused_family is not None:
            ctx.bridge.wait(revoke_family(ctx, taken.reused_family, "refresh_token.reused"))
        return taken.token

    def authenticate_user(self, refresh_token: RefreshToken) -> GrantUser | None:
        return grant_user(ctx_of(self), refresh_token.grant_id)

    def revoke_old_credential(self, refresh_token: RefreshToken) -> None:
        # Already marked used when it was taken; a second presentation is a reuse.
        return None

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        return with_grant(self, super().create_token_response())


async def revoke_family(ctx: OAuthContext, family_id: str, action: str) -> None:
    """Revoke a refresh-token family and announce its live access tokens revoked."""
    tokens = await ctx.store().revoke_family(family_id, ctx.clock.now())
    if not tokens:
        return
    first = tokens[0]
    live = [(t.access_jti, t.access_expires_at) for t in tokens]
    details = {"family_id": family_id, "client_id": first.client_id}
    await ctx.service().revoke_tokens(first.grant_id, first.tenant_id, live, action, details)


class ClientCredentials(grants.ClientCredentialsGrant):  # type: ignore[misc]
    """RFC 6749 §4.4 for a confidential client whose request the owner approved once (by code or device flow):
    its tokens are for that grant, while it stays active; before any approval, `invalid_grant`."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        ctx = ctx_of(self)
        grant_id = ctx.bridge.wait(ctx.store().standing_grant(self.request.client.get_client_id()))
        user = None if grant_id is None else grant_user(ctx, grant_id)
        if user is None:
            raise InvalidGrantError("the owner has not approved this client (or its grant ended)")
        self.request.user = user

    def generate_token(self, user: Any = None, **kwargs: Any) -> Any:
        return super().generate_token(user=self.request.user, **kwargs)

    def create_token_response(self) -> Answer:
        return with_grant(self, super().create_token_response())


async def revoke_code_tokens(ctx: OAuthContext, code: AuthorizationCodeRow) -> None:
    """Revoke what a replayed code's first exchange issued: its access token and its refresh-token family."""
    if code.family_id is not None:
        await revoke_family(ctx, code.family_id, "authorization_code.reused")
    elif code.access_jti is not None and code.access_expires_at is not None:
        live = [(code.access_jti, code.access_expires_at)]
        details = {"client_id": code.client_id}
        await ctx.service().revoke_tokens(code.grant_id, code.tenant_id, live, "authorization_code.reused", details)

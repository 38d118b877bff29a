"""Revocation (RFC 7009) and introspection (RFC 7662) on Authlib's endpoints.

Either kind of token may be named: an access token (our `at+jwt`, verified against our own keys) or a refresh
token (opaque, looked up by its hash). A client may revoke and introspect only the tokens issued to it.
Revoking a refresh token revokes its family and the family's live access tokens; revoking an access token
publishes its `TokenRevoked`, which every proxy acts on. Introspection answers `active`, the claims, `grant_id`
and the grant's current `authorization_details`, with the last known remaining budget when metering has published
one (`budget_remaining_usd`, `budget_exhausted`, `requests_remaining`; left out, never an error, while the bus is
away); an expired, revoked, unknown or foreign token, or one whose grant is no longer active, is `{"active": false}`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from authlib.oauth2.rfc6749 import TokenMixin
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from tollgate_auth.domain.access import usd_text
from tollgate_auth.oauth.context import OAuthContext
from tollgate_auth.oauth.grants import grant_user, revoke_family
from tollgate_auth.oauth.models import RefreshToken, digest
from tollgate_auth.oauth.tokens import REFRESH_PREFIX
from tollgate_contracts import BudgetState
from tollgate_servicekit.errors import BusUnavailable

log = logging.getLogger(__name__)

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


@dataclass(frozen=True)
class Presented(TokenMixin):  # type: ignore[misc]
    """A token named at the revocation or introspection endpoint, as found."""

    kind: str
    client_id: str
    grant_id: str
    expired: bool
    revoked: bool
    claims: dict[str, Any]
    refresh: RefreshToken | None = None

    def check_client(self, client: Any) -> bool:
        return bool(client.get_client_id() == self.client_id)

    def get_scope(self) -> str:
        return str(self.claims.get("scope", ""))

    def is_expired(self) -> bool:
        return self.expired

    def is_revoked(self) -> bool:
        return self.revoked


def find_token(ctx: OAuthContext, value: str) -> Presented | None:
    """Look a token up (called in the bridge's worker thread)."""
    now = ctx.clock.now()
    if value.startswith(REFRESH_PREFIX):
        found = ctx.bridge.wait(ctx.store().refresh_status(digest(value), now))
        if found is None:
            return None
        token, usable = found
        times: dict[str, Any] = {"exp": int(token.expires_at.timestamp()), "iat": int(token.created_at.timestamp())}
        return Presented("refresh_token", token.client_id, token.grant_id, False, not usable, times, token)
    claims = verified_claims(ctx, value)
    if claims is None:
        return None
    expired = claims["exp"] <= int(now.timestamp())
    revoked = ctx.bridge.wait(ctx.store().is_access_revoked(str(claims["jti"])))
    return Presented("access_token", claims["client_id"], claims["sub"], expired, revoked, claims)


def verified_claims(ctx: OAuthContext, value: str) -> dict[str, Any] | None:
    """The claims of one of our access tokens (signature, issuer, audience checked; expiry left to the caller)."""
    try:
        kid = jwt.get_unverified_header(value).get("kid")
        [jwk] = [k for k in ctx.service().jwks()["keys"] if k["kid"] == kid]
        claims: dict[str, Any] = jwt.decode(
            value,
            jwt.PyJWK(jwk).key,
            algorithms=["EdDSA"],
            audience=ctx.settings.audience,
            issuer=ctx.issuer,
            options={"verify_exp": False, "require": ["exp", "jti", "sub", "client_id"]},
        )
    except (jwt.PyJWTError, ValueError):
        return None
    return claims


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def __init__(self, ctx: OAuthContext) -> None:
        super().__init__()
        self.ctx = ctx

    def query_token(self, token_string: str, token_type_hint: str | None) -> Presented | None:
        return find_token(self.ctx, token_string)

    def revoke_token(self, token: Presented, request: Any) -> None:
        ctx = self.ctx
        if token.refresh is not None:
            ctx.bridge.wait(revoke_family(ctx, token.refresh.family_id, "refresh_token.revoked"))
            return
        if token.expired or token.revoked:
            return
        expires = datetime.fromtimestamp(token.claims["exp"], UTC)
        jti = token.claims["jti"]
        ctx.bridge.wait(ctx.store().revoke_access(jti, token.grant_id, expires, ctx.clock.now()))
        tenant = str(token.claims.get("tid", ""))
        details = {"client_id": token.client_id}
        ctx.bridge.wait(ctx.service().revoke_tokens(token.grant_id, tenant, [(jti, expires)], "token.revoked", details))


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def __init__(self, ctx: OAuthContext) -> None:
        super().__init__()
        self.ctx = ctx
        self._bus_away = False
        """Whether the last budget read found the bus away (logged once per outage, not per introspection)."""

    def query_token(self, token_string: str, token_type_hint: str | None) -> Presented | None:
        return find_token(self.ctx, token_string)

    def last_budget(self, grant_id: str) -> BudgetState | None:
        """The grant's last budget state from metering; None when there is none or the bus cannot say."""
        try:
            state = self.ctx.bridge.wait(self.ctx.budgets().budget(grant_id))
        except BusUnavailable as exc:
            if not self._bus_away:
                log.warning("introspection answers without budgets until the bus is back: %s", exc)
            self._bus_away = True
            return None
        if self._bus_away:
            log.info("introspection reads budgets from the bus again")
        self._bus_away = False
        return state

    def check_permission(self, token: Presented, client: Any, request: Any) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: Presented) -> dict[str, Any]:
        user = grant_user(self.ctx, token.grant_id)
        if user is None:
            return {"active": False}
        payload: dict[str, Any] = {
            "active": True,
            "client_id": token.client_id,
            "grant_id": token.grant_id,
            "authorization_details": user.authorization_details,
            "token_type": token_type(token),
            "exp": token.claims["exp"],
            "iat": token.claims["iat"],
        }
        # `cnf` tells a resource server the token is DPoP-bound (RFC 9449 §6.2); `act` who acts (RFC 8693 §4.1).
        for name in ("iss", "aud", "sub", "jti", "nbf", "tid", "scope", "cnf", "act"):
            if name in token.claims:
                payload[name] = token.claims[name]
        state = self.last_budget(token.grant_id)
        if state is not None:
            payload.update(budget_claims(state))
        return payload


def budget_claims(state: BudgetState) -> dict[str, Any]:
    """The last known remaining budget (what metering counted, not yet what in-flight requests will spend)."""
    claims: dict[str, Any] = {"budget_exhausted": state.exhausted}
    if state.limit_micro_usd is not None:
        claims["budget_remaining_usd"] = usd_text(max(state.limit_micro_usd - state.spent_micro_usd, 0))
    if state.max_requests is not None:
        claims["requests_remaining"] = max(state.max_requests - state.requests, 0)
    return claims


def token_type(token: Presented) -> str:
    if token.kind != "access_token":
        return "refresh_token"
    return "DPoP" if "cnf" in token.claims else "Bearer"

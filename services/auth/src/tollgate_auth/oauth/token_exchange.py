"""Token exchange (RFC 8693) for sub-grants: an app trades an access token of its grant for one of a narrower child
grant, for a sub-agent it names.

    grant_type=urn:ietf:params:oauth:grant-type:token-exchange
    subject_token=<an access token auth issued to this client>
    subject_token_type=urn:ietf:params:oauth:token-type:access_token
    authorization_details=[{"type": "tollgate_ai_access", "models": [...], "budget": {...}, ...}]   (optional)
    actor=<the sub-agent's name>        or   actor_token=<its access token> + actor_token_type=…:access_token

The subject token is checked with auth's own keys (signature, `iss`, `aud`, `exp`, not revoked) and must have been
issued to the client asking; a DPoP-bound one needs a proof by its key. The child grant's terms are the domain's
`child_details` (never wider than the parent; where the request is silent, the parent's), created through the
service like any grant (its state published, acknowledged by the bus) with `parent_grant_id` set. The issued
access token is for the child (`sub` = its id) and carries `act` (RFC 8693 §4.1) naming the actor — the named
sub-agent, else the client — with the subject token's own `act` nested when it was an exchanged token.

The parent's *remaining* budget is metering's to know; it is not asked here (`parent_remaining_micro_usd=None`),
so a child's budget is bounded by the parent's budget, and metering counts the child's spend against the parent.

Errors (RFC 8693 §2.2.2): a missing, malformed, invalid, expired, revoked or foreign subject or actor token, and a
child asking for more than its parent allows, are `invalid_request`; a `resource`/`audience` other than the proxy is
`invalid_target`. No refresh token is issued: the sub-agent exchanges again.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError, UnauthorizedClientError
from authlib.oauth2.rfc6749.hooks import hooked

from tollgate_auth.domain.errors import GrantNotFound, InvalidRequest
from tollgate_auth.domain.narrowing import grant_request_from
from tollgate_auth.domain.subgrants import child_details
from tollgate_auth.oauth.context import OAuthContext
from tollgate_auth.oauth.details import asked_details, granted_details
from tollgate_auth.oauth.dpop_binding import DPoPBound, InvalidDPoPProofError
from tollgate_auth.oauth.endpoints import verified_claims
from tollgate_auth.oauth.errors import InvalidTargetError
from tollgate_auth.oauth.grants import Answer, with_grant
from tollgate_auth.oauth.models import GrantUser

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
MAX_ACTOR_LENGTH = 200


class Exchange(grants.BaseGrant, grants.TokenEndpointMixin):  # type: ignore[misc]
    """The exchange itself; `TokenExchangeGrant` is it with DPoP (the proof is checked before this validates)."""

    GRANT_TYPE = TOKEN_EXCHANGE
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    @hooked  # type: ignore[untyped-decorator]
    def validate_token_request(self) -> None:
        """Everything but the child's creation: the client, both tokens, the actor and the child's terms."""
        ctx: OAuthContext = self.server.ctx
        data: dict[str, str] = self.request.payload.data
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(f"this client is not registered for {self.GRANT_TYPE}")
        self.request.client = client
        for name in ("subject_token", "subject_token_type", "actor_token", "actor_token_type", "audience", "actor"):
            if len(self.request.payload.datalist.get(name, [])) > 1:
                raise InvalidRequestError(f"{name} is given more than once")
        for value in (data.get("audience"),):
            if value is not None and value.rstrip("/") != ctx.settings.audience:
                raise InvalidTargetError(f"the only audience here is {ctx.settings.audience}")
        requested = data.get("requested_token_type")
        if requested is not None and requested != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError(f"requested_token_type: only {ACCESS_TOKEN_TYPE} is issued here")
        subject = self._token(data.get("subject_token"), data.get("subject_token_type"), "subject_token")
        if subject["client_id"] != client.get_client_id():
            raise InvalidRequestError("subject_token was not issued to this client")
        cnf = subject.get("cnf")
        bound = cnf.get("jkt") if isinstance(cnf, dict) else None
        if bound is not None and bound != getattr(self.request, "dpop_jkt", None):
            # Else a stolen bound token could be traded for an unbound one.
            raise InvalidDPoPProofError("subject_token is bound to a DPoP key: send a proof signed by it")
        try:
            parent = ctx.bridge.wait(ctx.service().get_grant(str(subject["sub"])))
        except GrantNotFound:
            raise InvalidRequestError("subject_token's grant does not exist") from None
        asked = asked_details(data)
        try:
            details = child_details(parent, asked, ctx.clock.now(), parent_remaining_micro_usd=None)
            self.request.child_request = grant_request_from(
                details, app_name=parent.app_name, parent_grant_id=parent.id
            )
        except InvalidRequest as exc:
            raise InvalidRequestError(exc.message) from None
        self.request.parent = parent
        self.request.actor = self._actor(data, subject, client.get_client_id())
        self.request.subject_scope = str(subject.get("scope") or "")

    def _token(self, value: str | None, kind: str | None, name: str) -> dict[str, Any]:
        """The verified, live claims of one of auth's access tokens, or `invalid_request`."""
        ctx: OAuthContext = self.server.ctx
        if not value:
            raise InvalidRequestError(f"{name} is required")
        if kind != ACCESS_TOKEN_TYPE:
            raise InvalidRequestError(f"{name}_type must be {ACCESS_TOKEN_TYPE}")
        claims = verified_claims(ctx, value)
        if claims is None:
            raise InvalidRequestError(f"{name} is not an access token issued here")
        if int(claims["exp"]) <= int(ctx.clock.now().timestamp()):
            raise InvalidRequestError(f"{name} has expired")
        if ctx.bridge.wait(ctx.store().is_access_revoked(str(claims["jti"]))):
            raise InvalidRequestError(f"{name} has been revoked")
        return claims

    def _actor(self, data: dict[str, str], subject: dict[str, Any], client_id: str) -> dict[str, Any]:
        """`act` (RFC 8693 §4.1): who acts — the named sub-agent, the actor token's client, else this client —
        with the subject token's own `act` nested (the chain of delegation)."""
        if data.get("actor_token") or data.get("actor_token_type"):
            claims = self._token(data.get("actor_token"), data.get("actor_token_type"), "actor_token")
            act: dict[str, Any] = {"sub": str(claims["client_id"])}
        elif data.get("actor") is not None:
            name = data["actor"].strip()
            if not name or len(name) > MAX_ACTOR_LENGTH or not name.isprintable():
                raise InvalidRequestError(f"actor: 1 to {MAX_ACTOR_LENGTH} printable characters")
            act = {"sub": name}
        else:
            act = {"sub": client_id}
        if isinstance(subject.get("act"), dict):
            act["act"] = subject["act"]
        return act

    @hooked  # type: ignore[untyped-decorator]
    def create_token_response(self) -> Answer:
        ctx: OAuthContext = self.server.ctx
        parent = self.request.parent
        try:
            child = ctx.bridge.wait(ctx.service().create_grant(self.request.child_request, tenant_id=parent.tenant_id))
        except InvalidRequest as exc:
            raise InvalidRequestError(exc.message) from None
        user = GrantUser(
            child.id,
            child.tenant_id,
            [granted_details(child, ctx.clock.now())],
            child.expires_at,
            extra_claims={"act": self.request.actor},
        )
        self.request.user = user
        token = self.generate_token(user=user, scope=self.request.subject_scope, include_refresh_token=False)
        token["issued_token_type"] = ACCESS_TOKEN_TYPE
        self.save_token(token)
        return with_grant(self, (200, token, self.TOKEN_RESPONSE_HEADER))


class TokenExchangeGrant(DPoPBound, Exchange):
    pass

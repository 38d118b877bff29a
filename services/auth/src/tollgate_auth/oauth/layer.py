"""The OAuth layer of one auth app: its Authlib server with the grants, endpoints and extensions registered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from authlib.oauth2.rfc6749.errors import OAuth2Error
from starlette.responses import Response

from tollgate_auth.oauth.context import OAuthContext
from tollgate_auth.oauth.device import DeviceAuthorization
from tollgate_auth.oauth.dpop_binding import (
    DPoPClientCredentials,
    DPoPCodeGrant,
    DPoPDeviceGrant,
    DPoPProofs,
    DPoPRefreshGrant,
)
from tollgate_auth.oauth.endpoints import Introspection, Revocation
from tollgate_auth.oauth.grants import ResourceIndicator, S256Only
from tollgate_auth.oauth.metadata import server_metadata
from tollgate_auth.oauth.registration import Registration
from tollgate_auth.oauth.server import Answer, TollgateAuthorizationServer
from tollgate_auth.oauth.token_exchange import TokenExchangeGrant
from tollgate_auth.oauth.tokens import AccessTokens
from tollgate_servicekit.admin import matches

T = TypeVar("T")

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthLayer:
    def __init__(self, ctx: OAuthContext) -> None:
        self.ctx = ctx
        self.metadata = server_metadata(ctx.settings)
        server = TollgateAuthorizationServer(ctx)
        server.register_token_generator("default", AccessTokens(ctx))
        # DPoP (RFC 9449): the token grants bind their tokens to a proof's key (`dpop_binding`).
        server.register_extension(DPoPProofs(ctx))
        server.register_grant(DPoPCodeGrant, [S256Only(required=True), ResourceIndicator(ctx.settings.resource)])
        server.register_grant(DPoPRefreshGrant, [ResourceIndicator(ctx.settings.resource)])
        server.register_grant(TokenExchangeGrant, [ResourceIndicator(ctx.settings.resource)])
        server.register_endpoint(Registration(ctx, self.metadata))
        server.register_grant(DPoPDeviceGrant, [ResourceIndicator(ctx.settings.resource)])
        server.register_grant(DPoPClientCredentials, [ResourceIndicator(ctx.settings.resource)])
        server.register_endpoint(DeviceAuthorization(ctx))
        server.register_endpoint(Revocation(ctx))
        server.register_endpoint(Introspection(ctx))
        self.server = server

    def registration_allowed(self, authorization: str | None) -> bool:
        """Open registration, or the admin key as a bearer token (`registration=admin`)."""
        if self.ctx.settings.registration == "open":
            return True
        scheme, _, presented = (authorization or "").partition(" ")
        key = self.ctx.admin_key()
        return scheme.lower() == "bearer" and key is not None and matches(presented.strip(), key)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run one of the server's synchronous entry points in a worker thread (see `bridge`)."""
        return await self.ctx.bridge.run(fn, *args)

    def error(self, error: OAuth2Error, state: str | None = None) -> Answer:
        return self.server.error_redirect(error, state)


def to_response(answer: Answer) -> Response:
    headers = dict(answer.headers)
    if answer.status == 302 and answer.location:
        # RFC 6749 allows any redirect; 303 makes a browser follow a POST's answer with a GET.
        return Response(status_code=303, headers=headers)
    if isinstance(answer.body, dict | list):
        headers.setdefault("Content-Type", "application/json")
        return Response(answer.encoded(), status_code=answer.status, headers={**NO_STORE, **headers})
    return Response(answer.body or "", status_code=answer.status, headers=headers)

"""RFC 9068 access tokens: Authlib's `JWTBearerTokenGenerator`, signed by auth's own signing key and signer.

The JWT is signed by `adapters/signing.py` (PyJWT, EdDSA over Ed25519) rather than by the generator's joserfc
call: joserfc 1.8 refuses the `EdDSA` algorithm name unless asked explicitly, which Authlib's generator does not,
and one signer for the admin path (`tollgate token mint`) and the OAuth path keeps one key format and one header.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator

from tollgate_auth.oauth.context import OAuthContext
from tollgate_auth.oauth.models import GrantUser

ACCESS_TOKEN_TYPE = "at+jwt"
REFRESH_PREFIX = "tgr_"


class AccessTokens(JWTBearerTokenGenerator):  # type: ignore[misc]
    def __init__(self, ctx: OAuthContext) -> None:
        super().__init__(issuer=ctx.issuer, alg="EdDSA", expires_generator=self._expires_in)
        self.refresh_token_generator = self._refresh_token
        self.ctx = ctx

    def _expires_in(self, client: Any, grant_type: str) -> int:
        return self.ctx.settings.token_default_ttl_seconds

    def _refresh_token(self, **_: Any) -> str:
        # Opaque, 256 bits; only its SHA-256 is stored.
        return REFRESH_PREFIX + secrets.token_urlsafe(32)

    def access_token_generator(self, client: Any, grant_type: str, user: GrantUser, scope: str | None) -> str:
        ctx = self.ctx
        service = ctx.service()
        key = service.signing_key()
        now = ctx.clock.now()
        expires = now + timedelta(seconds=self._expires_in(client, grant_type))
        if user.expires_at is not None:
            # A token never outlives its grant.
            expires = min(expires, user.expires_at)
        # The extra claims (`cnf`, `act`) first: they never override a standard one.
        claims: dict[str, Any] = {
            **user.extra_claims,
            "iss": ctx.issuer,
            "aud": ctx.settings.audience,
            "sub": user.grant_id,
            "client_id": client.get_client_id(),
            "jti": ctx.ids.new_id("jti"),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "tid": user.tenant_id,
        }
        if scope:
            claims["scope"] = scope
        token = service.signer.sign(claims, key, typ=ACCESS_TOKEN_TYPE)
        details = {"jti": claims["jti"], "kid": key.kid, "exp": claims["exp"], "client_id": claims["client_id"]}
        ctx.bridge.wait(service.record_token(user.grant_id, user.tenant_id, details))
        return token

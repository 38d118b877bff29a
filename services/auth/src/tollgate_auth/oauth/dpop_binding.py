"""DPoP at the token endpoint (RFC 9449 §5): a token request with a `DPoP` proof gets an access token bound to the
proof's key (`cnf.jkt`, `token_type: DPoP`); one without gets a Bearer token as before.

An Authlib extension in two parts, since Authlib has no DPoP:
- `DPoPProofs` (registered on the server with `register_extension`) is this replica's policy: the proof is checked
  by servicekit's `check_proof` for `POST` to the token endpoint's public URL, `iat` within `max_age`, and, when
  the settings require one, a server nonce (a refusal then is `use_dpop_nonce` with a `DPoP-Nonce` header, §8);
  each accepted `jti` is remembered (per replica, §11.1) until its proof would be too old anyway.
- `DPoPBound`, a mixin on a token grant: it checks the proof *before* the grant validates anything (so a bad proof
  burns no code and no refresh token), binds the tokens it issues, and says `token_type: DPoP`.
  `DPoPRefreshGrant` also holds a public client to its key (§5): a refresh token issued with a proof is stored with
  the key's thumbprint, and refreshing it needs a proof by that key (looked at before the token is taken, so a
  thief without the key cannot burn the family). A confidential client's refresh tokens stay unbound (§5).

Errors: an invalid, replayed or missing-but-required proof is 400 `invalid_dpop_proof` (§5.1).
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from authlib.oauth2.rfc6749.errors import OAuth2Error

from tollgate_auth.oauth.context import OAuthContext
from tollgate_auth.oauth.device import DeviceGrant
from tollgate_auth.oauth.grants import ClientCredentials, CodeGrant, RefreshGrant
from tollgate_auth.oauth.metadata import TOKEN
from tollgate_auth.oauth.models import GrantUser, digest
from tollgate_servicekit import dpop_replay
from tollgate_servicekit.dpop import ProofInvalid, check_proof
from tollgate_servicekit.dpop_replay import Nonces

DPOP = "DPoP"
LEEWAY_SECONDS = 5.0
"""How far ahead of auth's clock a proof's `iat` may be."""


class InvalidDPoPProofError(OAuth2Error):  # type: ignore[misc]
    """RFC 9449 §5.1: the proof is invalid (or missing where the refresh token needs one)."""

    error = "invalid_dpop_proof"
    status_code = 400


class UseDPoPNonceError(OAuth2Error):  # type: ignore[misc]
    """RFC 9449 §8: this server wants a nonce in the proof; the answer hands out a fresh one."""

    error = "use_dpop_nonce"
    status_code = 400

    def __init__(self, description: str, nonce: str) -> None:
        super().__init__(description)
        self.nonce = nonce

    def get_headers(self) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = super().get_headers()
        return [*headers, ("DPoP-Nonce", self.nonce)]


class BusyError(OAuth2Error):  # type: ignore[misc]
    error = "temporarily_unavailable"
    status_code = 503


class ReplayCache(dpop_replay.ReplayCache):
    """The `jti`s of proofs this replica accepted (servicekit's cache); full, the token request is a 503."""

    def full(self) -> Exception:
        return BusyError("too many recent DPoP proofs; retry shortly")


class DPoPProofs:
    """This replica's DPoP policy at the token endpoint; `server.dpop` once registered as an extension."""

    def __init__(self, ctx: OAuthContext, *, max_age: float = 60.0, replay: ReplayCache | None = None) -> None:
        settings = ctx.settings
        self.ctx = ctx
        self.url = ctx.url(TOKEN)
        self.max_age = max_age
        self.replay = replay if replay is not None else ReplayCache()
        self.nonces: Nonces | None = None
        if settings.dpop_require_nonce:
            secret = settings.dpop_nonce_secret
            # Without a shared secret each replica has its own nonces (a client then retries once per replica).
            self.nonces = Nonces(secret.get_secret_value().encode() if secret else secrets.token_bytes(32))

    def __call__(self, server: Any) -> DPoPProofs:
        server.dpop = self
        return self

    def check(self, request: Any) -> str | None:
        """The thumbprint of the request's valid proof, None without one; `InvalidDPoPProofError` otherwise."""
        headers = request.headers
        values = headers.getlist("dpop") if hasattr(headers, "getlist") else [v for v in [headers.get("dpop")] if v]
        if not values:
            return None
        if len(values) > 1:
            raise InvalidDPoPProofError("send exactly one DPoP header")
        [proof] = values
        now = self.ctx.clock.now().timestamp()
        accepted = self.nonces.accepted(now) if self.nonces is not None else None
        try:
            checked = check_proof(
                proof,
                method="POST",
                url=self.url,
                now=now,
                nonces=accepted,
                max_age=self.max_age,
                leeway=LEEWAY_SECONDS,
            )
        except ProofInvalid as exc:
            if exc.error == "use_dpop_nonce" and self.nonces is not None:
                raise UseDPoPNonceError(exc.message, self.nonces.current(now)) from None
            raise InvalidDPoPProofError(exc.message) from None
        if not self.replay.first_use(f"{checked.jkt}:{checked.jti}", until=checked.iat + self.max_age, now=now):
            raise InvalidDPoPProofError("DPoP proof was used before")
        return checked.jkt


def bound_key(request: Any) -> str | None:
    """The thumbprint a refresh token issued for `request` is bound to: a public client's proof key (RFC 9449 §5)."""
    jkt: str | None = getattr(request, "dpop_jkt", None)
    client = getattr(request, "client", None)
    return jkt if jkt is not None and client is not None and client.is_public else None


def bind(user: GrantUser, jkt: str | None) -> GrantUser:
    """The user whose tokens carry `cnf.jkt` (RFC 9449 §6), or `user` unchanged without a key."""
    if jkt is None:
        return user
    return replace(user, extra_claims={**user.extra_claims, "cnf": {"jkt": jkt}})


class DPoPBound:
    """Mixin for a token grant (before the Authlib grant in the bases): proof first, then the grant's own checks;
    the tokens it issues are bound to the proof's key."""

    request: Any
    server: Any

    def validate_token_request(self) -> None:
        self.request.dpop_jkt = self.server.dpop.check(self.request)
        super().validate_token_request()  # type: ignore[misc]

    def generate_token(self, user: Any = None, **kwargs: Any) -> Any:
        """Authlib's token (`scope`, `grant_type`, `expires_in`, `include_refresh_token` passed on), bound."""
        jkt: str | None = getattr(self.request, "dpop_jkt", None)
        if isinstance(user, GrantUser):
            user = bind(user, jkt)
        token: dict[str, Any] = super().generate_token(user=user, **kwargs)  # type: ignore[misc]
        if jkt is not None:
            token["token_type"] = DPOP
        return token


class DPoPCodeGrant(DPoPBound, CodeGrant):
    pass


class DPoPRefreshGrant(DPoPBound, RefreshGrant):
    def authenticate_refresh_token(self, refresh_token: str) -> Any:
        # Looked at before it is taken: a refresh token bound to a key is refused without a proof by that key, and
        # stays usable for its owner.
        ctx: OAuthContext = self.server.ctx
        found = ctx.bridge.wait(ctx.store().refresh_status(digest(refresh_token), ctx.clock.now()))
        if found is not None:
            stored, usable = found
            if usable and stored.jkt is not None and stored.jkt != self.request.dpop_jkt:
                raise InvalidDPoPProofError("this refresh token is bound to a DPoP key: send a proof signed by it")
        return super().authenticate_refresh_token(refresh_token)


class DPoPClientCredentials(DPoPBound, ClientCredentials):
    def validate_token_request(self) -> None:
        super().validate_token_request()
        # ClientCredentials issues to `request.user` whatever user it is handed: bind that one.
        self.request.user = bind(self.request.user, self.request.dpop_jkt)


class DPoPDeviceGrant(DPoPBound, DeviceGrant):
    """RFC 8628 polling with DPoP: each poll carries a fresh proof; the one that gets the tokens binds them."""

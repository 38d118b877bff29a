"""Delegated-token rules: which keys verify, which algorithm, which claims must hold.

The algorithm is pinned to EdDSA: a token's own `alg` header never chooses how
it is checked, so `none` and HMAC-signed-with-the-public-key are refused before
any signature check. The `typ` header is `at+jwt` (RFC 9068 access tokens) or
that of a plain JWT (admin-minted tokens, and tokens from before RFC 9068), so
no other kind of JWT auth signs can be passed off as an access token. Claims
are checked here against an explicit `now` (epoch seconds) rather than inside
PyJWT, so the rules are visible and tested: `aud` must be (or contain) this
proxy's canonical URL, `client_id` is carried when present — and required of
an `at+jwt` token (RFC 9068 §2.2; auth puts it in every OAuth token, while an
admin-minted token is a plain JWT without one) — and `cnf.jkt` (RFC 9449)
marks a token bound to a DPoP key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.types import Options

from tollgate_contracts import ErrorCode, SigningKeyState
from tollgate_proxy.domain.errors import CredentialRejected, UnknownSigningKey

ALGORITHM = "EdDSA"
CLOCK_SKEW_SECONDS = 10
"""Tolerance for clocks that disagree a little between auth and this proxy."""
MAX_KID_LENGTH = 128
"""Longer `kid`s are never waited for (auth's are short)."""
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt", "jwt"})
"""Accepted `typ` headers, compared lower-case (media types are case-insensitive); no `typ` is accepted too."""
OAUTH_ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
"""The RFC 9068 `typ`s: such a token must name its client (`client_id`)."""

_SIGNATURE_ONLY: Options = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public signing key as the proxy holds it."""

    kid: str
    public_key: Ed25519PublicKey
    not_after: float | None
    """Epoch seconds after which tokens signed by it are refused."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified delegated token says."""

    grant_id: str
    tenant_id: str
    jti: str
    expires_at: float
    """Epoch seconds (`exp`)."""
    client_id: str | None = None
    """The OAuth client the token was issued to (RFC 9068); admin-minted tokens have none."""
    jkt: str | None = None
    """`cnf.jkt`: the thumbprint of the DPoP key the token is bound to (RFC 9449), None for a bearer token."""


def _invalid(message: str) -> CredentialRejected:
    return CredentialRejected(ErrorCode.INVALID_CREDENTIAL, message)


def load_key(state: SigningKeyState) -> VerificationKey:
    """The verification key of a published signing key; ValueError unless it is an Ed25519 EdDSA key."""
    if state.alg != ALGORITHM:
        raise ValueError(f"signing key {state.kid} uses {state.alg}, only {ALGORITHM} is accepted")
    try:
        public_key = jwt.PyJWK(dict(state.jwk), algorithm=ALGORITHM).key
    except jwt.PyJWTError as exc:
        raise ValueError(f"signing key {state.kid} is not a usable JWK: {exc}") from exc
    if not isinstance(public_key, Ed25519PublicKey):
        raise ValueError(f"signing key {state.kid} is not an Ed25519 public key")
    not_after = state.not_after.timestamp() if state.not_after is not None else None
    return VerificationKey(kid=state.kid, public_key=public_key, not_after=not_after)


def _number(claims: Mapping[str, object], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(f"token claim {name} is not a number")
    return float(value)


def _text(claims: Mapping[str, object], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise _invalid(f"token claim {name} is missing")
    return value


def check_claims(claims: Mapping[str, object], *, now: float, issuer: str, audience: str) -> TokenClaims:
    """Check `iss`, `aud`, `exp`, `nbf`, `iat`, `sub`, `jti`, `tid` of a token whose signature holds."""
    if claims.get("iss") != issuer:
        raise _invalid("token issuer is not accepted")
    aud = claims.get("aud")
    names = _same_resource(audience)
    if not (aud in names if isinstance(aud, str) else isinstance(aud, list) and any(a in names for a in aud)):
        raise _invalid("token audience is not this proxy")
    exp = _number(claims, "exp")
    if exp is None:
        raise _invalid("token has no expiry")
    if now >= exp + CLOCK_SKEW_SECONDS:
        raise CredentialRejected(ErrorCode.TOKEN_EXPIRED, "token has expired")
    nbf = _number(claims, "nbf")
    if nbf is not None and now + CLOCK_SKEW_SECONDS < nbf:
        raise _invalid("token is not valid yet")
    iat = _number(claims, "iat")
    if iat is None:
        raise _invalid("token has no issue time")
    if now + CLOCK_SKEW_SECONDS < iat:
        raise _invalid("token was issued in the future")
    client_id = claims.get("client_id")
    if client_id is not None and (not isinstance(client_id, str) or not client_id):
        raise _invalid("token claim client_id is not a string")
    return TokenClaims(
        grant_id=_text(claims, "sub"),
        tenant_id=_text(claims, "tid"),
        jti=_text(claims, "jti"),
        expires_at=exp,
        client_id=client_id,
        jkt=_confirmation(claims),
    )


def _same_resource(audience: str) -> tuple[str, ...]:
    """`audience` and, for a URL with an empty path, the same URL with `/` (RFC 3986 §6.2.3: one resource)."""
    scheme, _, rest = audience.partition("://")
    return (audience, audience + "/") if scheme in ("http", "https") and rest and "/" not in rest else (audience,)


def _confirmation(claims: Mapping[str, object]) -> str | None:
    """`cnf.jkt`, or None without `cnf`; a confirmation this proxy cannot check (an mTLS `x5t#S256`…) refuses."""
    cnf = claims.get("cnf")
    if cnf is None:
        return None
    if not isinstance(cnf, dict) or set(cnf) != {"jkt"} or not isinstance(cnf["jkt"], str) or not cnf["jkt"]:
        raise _invalid("token is bound by a confirmation method this proxy does not support")
    jkt: str = cnf["jkt"]
    return jkt


def _plausible(token: str, *, now: float, issuer: str, audience: str) -> bool:
    """Whether a token's claims, read without checking its signature, would pass."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        check_claims(claims, now=now, issuer=issuer, audience=audience)
    except (jwt.PyJWTError, CredentialRejected):
        return False
    return True


def verify_token(
    token: str, keys: Mapping[str, VerificationKey], *, now: float, issuer: str, audience: str
) -> tuple[TokenClaims, VerificationKey]:
    """Verify a delegated token's header, signature and claims; return them with the key that verified them."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise _invalid("credential is not a well-formed token") from exc
    if header.get("alg") != ALGORITHM:
        raise _invalid(f"token algorithm must be {ALGORITHM}")
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES):
        raise _invalid("token type must be at+jwt")
    kid = header.get("kid")
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        if isinstance(kid, str) and 0 < len(kid) <= MAX_KID_LENGTH:
            raise UnknownSigningKey(kid, plausible=_plausible(token, now=now, issuer=issuer, audience=audience))
        raise _invalid("token was signed by an unknown key")
    if key.not_after is not None and now > key.not_after:
        raise _invalid("token was signed by a retired key")
    try:
        claims = jwt.decode(token, key.public_key, algorithms=[ALGORITHM], options=_SIGNATURE_ONLY)
    except jwt.PyJWTError as exc:
        raise _invalid("token signature does not verify") from exc
    checked = check_claims(claims, now=now, issuer=issuer, audience=audience)
    if checked.client_id is None and typ is not None and typ.lower() in OAUTH_ACCESS_TOKEN_TYPES:
        raise _invalid("an at+jwt access token must carry client_id")
    return checked, key

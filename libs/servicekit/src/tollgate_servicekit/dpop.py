"""DPoP proofs (RFC 9449): the JOSE mechanics of checking one, its key's thumbprint (RFC 7638), and signing one.

    proof = check_proof(request.headers["DPoP"], method="POST", url="https://proxy.example/v1/chat/completions",
                        now=time.time(), access_token=token)        # ProofInvalid (safe message) if it fails
    proof.jkt == claims["cnf"]["jkt"]                                # the caller binds; the caller keeps the jti

`check_proof` does every check that needs only the proof and the request
(RFC 9449 §4.3): one compact JWS, `typ: dpop+jwt`, an asymmetric `alg` from an
allow list (never `none`, never HMAC), an embedded *public* `jwk` the signature
verifies with, `htm` = the method, `htu` = the request URL without query and
fragment (both normalised: scheme and host lower-case, default port dropped,
empty path `/`), `iat` inside the window, a `jti`, and, when an access token is
given, `ath` = base64url(SHA-256(token)); with `nonces`, a server nonce.
What is policy stays with the caller: the replay cache of `jti`s (the proxy
keeps one per replica, auth's token endpoint its own), whether a nonce is
required, and comparing the thumbprint with a token's `cnf.jkt`.

Pure: no clock (`now` is passed), no I/O, no state.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from joserfc import jwk, jws
from joserfc.errors import JoseError, UnsupportedAlgorithmError
from joserfc.jws import JWSRegistry

__all__ = [
    "ALGORITHMS",
    "PROOF_TYPE",
    "Proof",
    "ProofInvalid",
    "canonical_url",
    "check_proof",
    "jwk_thumbprint",
    "sign_proof",
    "token_hash",
]

PROOF_TYPE = "dpop+jwt"
ALGORITHMS: tuple[str, ...] = (
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
    "Ed25519",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
)
"""The asymmetric algorithms a proof may be signed with (what `dpop_signing_alg_values_supported` lists)."""

_KEY_TYPES = frozenset({"EC", "OKP", "RSA"})
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MAX_PROOF_BYTES = 8192
"""A proof carries one public key and a few claims; an RSA-4096 one is under 2 KiB."""
MAX_JTI_LENGTH = 256
"""Replay caches hold `jti`s: a bounded length keeps them bounded too."""
_DEFAULT_PORTS = {"http": 80, "https": 443}


class ProofInvalid(ValueError):
    """The proof does not hold. `message` is one line, safe to show (it never repeats the proof or a token);
    `error` is the OAuth error code for the `WWW-Authenticate: DPoP` challenge or the token endpoint's answer."""

    def __init__(self, message: str, *, error: str = "invalid_dpop_proof") -> None:
        super().__init__(message)
        self.message = message
        self.error = error


@dataclass(frozen=True, slots=True)
class Proof:
    """What a valid proof says."""

    jkt: str
    """RFC 7638 thumbprint (SHA-256, base64url) of the proof's public key: what `cnf.jkt` must equal."""
    jti: str
    iat: float
    htm: str
    htu: str
    nonce: str | None


class _ProofRegistry(JWSRegistry):
    # RSA public keys do not fit joserfc's default 512-byte header limit; and the allow list below is explicit, so
    # the library's "not recommended" warning for EdDSA (RFC 9864 prefers "Ed25519") is no news to us.
    max_header_length = 4096

    def get_alg(self, name: str) -> Any:
        if name not in self.algorithms or not self.allowed or name not in self.allowed:
            raise UnsupportedAlgorithmError(f"Algorithm of '{name}' is not allowed")
        return self.algorithms[name]


@lru_cache(maxsize=16)
def _registry(algorithms: tuple[str, ...]) -> _ProofRegistry:
    return _ProofRegistry(algorithms=algorithms)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def token_hash(access_token: str) -> str:
    """`ath`: base64url of the SHA-256 of the access token's ASCII bytes."""
    return _b64(hashlib.sha256(access_token.encode("ascii")).digest())


def canonical_url(url: str) -> str:
    """The URL as `htu` compares it: no query or fragment, scheme and host lower-case, no default port, `/` for an
    empty path (RFC 3986 §6.2.2-6.2.3). ValueError if it is not an absolute http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError("not a valid URL") from exc
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None or parts.password is not None:
        raise ValueError("not an absolute http(s) URL")
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def _public_key(header_jwk: object) -> jwk.Key:
    """The key of a public JWK; ValueError (a safe message, "jwk …") if it is missing, private or symmetric."""
    if not isinstance(header_jwk, Mapping):
        raise ValueError("jwk is missing")
    kty = header_jwk.get("kty")
    if kty not in _KEY_TYPES:
        raise ValueError("jwk is not an asymmetric key")
    if _PRIVATE_MEMBERS & set(header_jwk):
        raise ValueError("jwk must be a public key")
    try:
        return jwk.import_key(dict(header_jwk), kty)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ValueError("jwk is not a usable key") from exc


def jwk_thumbprint(key: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url: the value of `cnf.jkt` (ValueError if unusable)."""
    return _public_key(key).thumbprint()


def _number(claims: Mapping[str, object], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProofInvalid(f"DPoP proof has no numeric {name}")
    return float(value)


def _text(claims: Mapping[str, object], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise ProofInvalid(f"DPoP proof has no {name}")
    return value


def _verified(proof: str, algorithms: tuple[str, ...]) -> tuple[dict[str, Any], jwk.Key]:
    """The proof's claims and key, once its form, header and signature hold."""
    if not proof or len(proof) > MAX_PROOF_BYTES:
        raise ProofInvalid("DPoP proof is missing or too long")
    registry = _registry(algorithms)
    try:
        obj = jws.extract_compact(proof.encode("ascii"), registry=registry)
    except (JoseError, ValueError, UnicodeError) as exc:
        raise ProofInvalid("DPoP proof is not a compact JWS") from exc
    header = obj.headers()
    if header.get("typ") != PROOF_TYPE:
        raise ProofInvalid(f"DPoP proof's typ must be {PROOF_TYPE}")
    if header.get("alg") not in algorithms:
        raise ProofInvalid("DPoP proof's alg is not an accepted asymmetric algorithm")
    if "crit" in header or "b64" in header:
        raise ProofInvalid("DPoP proof uses header parameters that are not accepted")
    try:
        key = _public_key(header.get("jwk"))
    except ValueError as exc:
        raise ProofInvalid(f"DPoP proof's {exc}") from None
    try:
        valid = jws.validate_compact(obj, key, registry=registry)
    except (JoseError, ValueError, TypeError) as exc:
        raise ProofInvalid("DPoP proof's signature does not verify with its jwk") from exc
    if not valid:
        raise ProofInvalid("DPoP proof's signature does not verify with its jwk")
    try:
        claims = json.loads(obj.payload)
    except ValueError as exc:
        raise ProofInvalid("DPoP proof's payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise ProofInvalid("DPoP proof's payload is not a JSON object")
    return claims, key


def check_proof(
    proof: str,
    *,
    method: str,
    url: str,
    now: float,
    access_token: str | None = None,
    nonces: Collection[str] | None = None,
    max_age: float = 60.0,
    leeway: float = 5.0,
    algorithms: Collection[str] = ALGORITHMS,
) -> Proof:
    """Check a `DPoP` header value for a request to `method` `url` at `now` (epoch seconds); ProofInvalid if not.

    `iat` may be up to `max_age` seconds old and `leeway` seconds ahead. With `access_token`, `ath` must be its
    hash. With `nonces`, the proof's `nonce` must be one of them (`error` "use_dpop_nonce" otherwise)."""
    allowed = tuple(alg for alg in algorithms if alg in ALGORITHMS)
    claims, key = _verified(proof, allowed)
    jti = _text(claims, "jti")
    if len(jti) > MAX_JTI_LENGTH:
        raise ProofInvalid("DPoP proof's jti is too long")
    htm = _text(claims, "htm")
    if htm != method.upper():
        raise ProofInvalid("DPoP proof is for another HTTP method")
    htu = _text(claims, "htu")
    try:
        same_url = canonical_url(htu) == canonical_url(url)
    except ValueError:
        same_url = False
    if not same_url:
        raise ProofInvalid("DPoP proof is for another URL")
    iat = _number(claims, "iat")
    if iat > now + leeway:
        raise ProofInvalid("DPoP proof was issued in the future")
    if iat < now - max_age:
        raise ProofInvalid("DPoP proof is too old")
    if access_token is not None:
        ath = claims.get("ath")
        if not isinstance(ath, str) or not secrets.compare_digest(ath, token_hash(access_token)):
            raise ProofInvalid("DPoP proof's ath does not match the access token")
    nonce = claims.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        raise ProofInvalid("DPoP proof's nonce is not a string")
    if nonces is not None and nonce not in nonces:
        raise ProofInvalid("the server requires a fresh DPoP nonce", error="use_dpop_nonce")
    return Proof(jkt=key.thumbprint(), jti=jti, iat=iat, htm=htm, htu=htu, nonce=nonce)


def _default_alg(key: jwk.Key) -> str:
    if key.key_type == "OKP":
        return "EdDSA"
    if key.key_type == "RSA":
        return "PS256"
    curve = key.as_dict(private=False).get("crv")
    return {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}.get(str(curve), "ES256")


def sign_proof(
    key: jwk.Key,
    *,
    method: str,
    url: str,
    access_token: str | None = None,
    nonce: str | None = None,
    iat: float | None = None,
    jti: str | None = None,
    alg: str | None = None,
) -> str:
    """A DPoP proof for one request, signed with the client's private `key` (a joserfc key) — the client's side,
    for tests and Tollgate's own clients. `url` goes in as `htu` without its query and fragment."""
    alg = alg or _default_alg(key)
    parts = urlsplit(url)
    claims: dict[str, Any] = {
        "jti": jti or secrets.token_urlsafe(16),
        "htm": method.upper(),
        "htu": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
        "iat": int(time.time()) if iat is None else iat,
    }
    if access_token is not None:
        claims["ath"] = token_hash(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    header = {"typ": PROOF_TYPE, "alg": alg, "jwk": key.as_dict(private=False)}
    payload = json.dumps(claims, separators=(",", ":"))
    return jws.serialize_compact(header, payload, key, registry=_registry(ALGORITHMS))

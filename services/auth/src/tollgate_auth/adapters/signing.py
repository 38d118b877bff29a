"""Ed25519 signing keys and EdDSA JWTs (PyJWT over cryptography)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tollgate_auth.domain.signing_keys import KeyStatus, SigningKey
from tollgate_contracts.b64 import b64url_encode

ALGORITHM = "EdDSA"


def thumbprint(x: str) -> str:
    """RFC 7638 JWK thumbprint of an Ed25519 public key: a stable, content-derived `kid`."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode()).digest())


class Ed25519Signer:
    """Generates Ed25519 signing keys and signs tokens with them (parsed private keys cached by `kid`)."""

    def __init__(self) -> None:
        self._loaded: dict[str, Ed25519PrivateKey] = {}

    def generate(self, now: datetime) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        x = b64url_encode(raw_public)
        kid = thumbprint(x)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self._loaded[kid] = private
        return SigningKey(
            kid=kid,
            alg=ALGORITHM,
            public_jwk={"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": ALGORITHM, "use": "sig"},
            private_pem=pem,
            status=KeyStatus.ACTIVE,
            created_at=now,
            updated_at=now,
            not_after=None,
            version=1,
        )

    def sign(self, claims: Mapping[str, Any], key: SigningKey, *, typ: str | None = None) -> str:
        headers = {"kid": key.kid} if typ is None else {"kid": key.kid, "typ": typ}
        return jwt.encode(dict(claims), self._private(key), algorithm=ALGORITHM, headers=headers)

    def _private(self, key: SigningKey) -> Ed25519PrivateKey:
        private = self._loaded.get(key.kid)
        if private is None:
            loaded = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
            if not isinstance(loaded, Ed25519PrivateKey):
                raise TypeError(f"signing key {key.kid} is not an Ed25519 key")
            private = self._loaded[key.kid] = loaded
        return private

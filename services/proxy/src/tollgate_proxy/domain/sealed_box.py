"""Opening a provider key sealed by keyvault to this proxy's X25519 key (`tollgate_contracts.rpc`).

The box: keyvault's ephemeral X25519 key and ours give a shared secret; HKDF-SHA256
with salt = ephemeral public || recipient public and info = SEAL_INFO makes a
32-byte key; AES-256-GCM with a 12-byte nonce and the credential id as
associated data. Every binary field travels as base64url without padding.
"""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tollgate_contracts import SEAL_INFO


class SealError(ValueError):
    """The box does not open: wrong recipient, tampered, or malformed. Never says more."""


def b64url_encode(raw: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of `b64url_encode`; accepts missing padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_bytes(key: X25519PublicKey) -> bytes:
    """The raw 32 bytes of an X25519 public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def box_key(shared_secret: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    """The AES-256-GCM key both sides derive."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_public + recipient_public, info=SEAL_INFO)
    return hkdf.derive(shared_secret)


def unseal(
    private_key: X25519PrivateKey, *, ephemeral_public_key: str, nonce: str, ciphertext: str, credential_id: str
) -> str:
    """The provider key in the box, or SealError."""
    try:
        ephemeral = b64url_decode(ephemeral_public_key)
        shared = private_key.exchange(X25519PublicKey.from_public_bytes(ephemeral))
        key = box_key(shared, ephemeral, public_bytes(private_key.public_key()))
        plaintext = AESGCM(key).decrypt(b64url_decode(nonce), b64url_decode(ciphertext), credential_id.encode())
        return plaintext.decode("utf-8")
    except (InvalidTag, ValueError) as exc:
        raise SealError("sealed key does not open") from exc

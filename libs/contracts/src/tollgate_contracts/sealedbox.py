"""The sealed box of `keyvault.seal.v1`: a secret encrypted to one recipient's X25519 public key.

Needs the `crypto` extra (`tollgate-contracts[crypto]`, i.e. `cryptography`). Keyvault seals, the proxy opens;
both use this module, so the two sides cannot drift apart. The box:

1. a fresh ephemeral X25519 key pair (`eph`) per box;
2. `shared = X25519(eph_private, recipient_public)`;
3. `key = HKDF-SHA256(ikm=shared, salt=eph_public || recipient_public, info=SEAL_INFO, length=32)`,
   both public keys as their 32 raw bytes;
4. `ciphertext = AES-256-GCM(key).encrypt(nonce, secret, aad=credential_id as UTF-8)` with a random 12-byte
   nonce (the 16-byte tag is appended to the ciphertext);
5. `ephemeral_public_key`, `nonce` and `ciphertext` travel as base64url without padding (the `SealReply` fields).

Only the holder of the recipient's private key can derive `key`; the credential id as associated data stops a box
being passed off as another credential's key. The module is pure: randomness comes from an injectable
`random_bytes` (the known-answer test in `tests/contracts/` pins the exact bytes), and errors never carry a secret.

    SealedBoxError            (ValueError)
    ├── InvalidRecipientKey   the recipient's public key is not 32 bytes of base64url, or a low-order point
    └── SealError             the box does not open: wrong recipient, wrong credential id, tampered, malformed
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tollgate_contracts.b64 import b64url_decode, b64url_encode
from tollgate_contracts.rpc import SEAL_INFO

__all__ = [
    "KEY_BYTES",
    "NONCE_BYTES",
    "SEAL_INFO",
    "InvalidRecipientKey",
    "RandomBytes",
    "SealError",
    "SealedBox",
    "SealedBoxError",
    "box_key",
    "open_box",
    "public_bytes",
    "public_key_text",
    "recipient_key",
    "seal",
    "unseal",
]

KEY_BYTES = 32
"""Size of an X25519 key (private or public) and of the derived AES-256 key."""
NONCE_BYTES = 12
"""Size of the AES-GCM nonce."""

RandomBytes = Callable[[int], bytes]
"""Source of randomness: `os.urandom` in production, a fixed stream in known-answer tests."""


class SealedBoxError(ValueError):
    """Base of the sealed box's errors. Messages name what is wrong, never a key or a secret."""


class InvalidRecipientKey(SealedBoxError):
    """The recipient public key is not 32 bytes of base64url, or yields no usable shared secret."""


class SealError(SealedBoxError):
    """The box does not open: wrong recipient, tampered, or malformed. Never says more."""


@dataclass(frozen=True)
class SealedBox:
    """A sealed secret as it goes on the wire (every field base64url without padding)."""

    ephemeral_public_key: str
    nonce: str
    ciphertext: str


def public_bytes(key: X25519PublicKey) -> bytes:
    """The raw 32 bytes of an X25519 public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_text(private_key: X25519PrivateKey) -> str:
    """The `recipient_public_key` a holder of `private_key` sends: its public key, base64url."""
    return b64url_encode(public_bytes(private_key.public_key()))


def recipient_key(encoded: str) -> X25519PublicKey:
    """The recipient's X25519 public key from its base64url form; InvalidRecipientKey if it is not one."""
    try:
        raw = b64url_decode(encoded)
    except ValueError:
        raise InvalidRecipientKey("recipient_public_key is not valid base64url") from None
    if len(raw) != KEY_BYTES:
        raise InvalidRecipientKey(f"recipient_public_key must be {KEY_BYTES} bytes")
    return X25519PublicKey.from_public_bytes(raw)


def box_key(shared_secret: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    """The AES-256-GCM key both sides derive (step 3 above)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=ephemeral_public + recipient_public, info=SEAL_INFO)
    return hkdf.derive(shared_secret)


def seal(
    secret: bytes, recipient_public_key: str, credential_id: str, *, random_bytes: RandomBytes = os.urandom
) -> SealedBox:
    """Seal `secret` to the recipient (base64url X25519 public key), bound to `credential_id`.

    `random_bytes` is asked first for the 32-byte ephemeral private key, then for the 12-byte nonce.
    """
    recipient = recipient_key(recipient_public_key)
    ephemeral = X25519PrivateKey.from_private_bytes(random_bytes(KEY_BYTES))
    try:
        shared = ephemeral.exchange(recipient)
    except ValueError:
        # A low-order point gives an all-zero secret, which OpenSSL refuses: the key is not a usable one.
        raise InvalidRecipientKey("recipient_public_key is not a usable X25519 key") from None
    ephemeral_public = public_bytes(ephemeral.public_key())
    key = box_key(shared, ephemeral_public, public_bytes(recipient))
    nonce = random_bytes(NONCE_BYTES)
    ciphertext = AESGCM(key).encrypt(nonce, secret, credential_id.encode())
    return SealedBox(
        ephemeral_public_key=b64url_encode(ephemeral_public),
        nonce=b64url_encode(nonce),
        ciphertext=b64url_encode(ciphertext),
    )


def open_box(private_key: X25519PrivateKey, box: SealedBox, credential_id: str) -> bytes:
    """The secret in `box`, sealed to `private_key` for `credential_id`; SealError if it does not open."""
    try:
        ephemeral = b64url_decode(box.ephemeral_public_key)
        shared = private_key.exchange(X25519PublicKey.from_public_bytes(ephemeral))
        key = box_key(shared, ephemeral, public_bytes(private_key.public_key()))
        return AESGCM(key).decrypt(b64url_decode(box.nonce), b64url_decode(box.ciphertext), credential_id.encode())
    except (InvalidTag, ValueError):
        # ValueError covers bad base64url, a wrong-sized key or nonce and a low-order ephemeral point.
        raise SealError("sealed key does not open") from None


def unseal(
    private_key: X25519PrivateKey, *, ephemeral_public_key: str, nonce: str, ciphertext: str, credential_id: str
) -> str:
    """The provider key (UTF-8 text) in a `SealReply`'s fields; SealError if it does not open."""
    box = SealedBox(ephemeral_public_key=ephemeral_public_key, nonce=nonce, ciphertext=ciphertext)
    try:
        return open_box(private_key, box, credential_id).decode("utf-8")
    except UnicodeDecodeError:
        raise SealError("sealed key does not open") from None

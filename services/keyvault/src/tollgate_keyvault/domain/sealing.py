"""The sealed box of `keyvault.seal.v1`: a provider key encrypted to one recipient's X25519 public key.

The box, exactly as `tollgate_contracts.rpc` documents it:

1. a fresh ephemeral X25519 key pair (`eph`) per box;
2. `shared = X25519(eph_private, recipient_public)`;
3. `key = HKDF-SHA256(ikm=shared, salt=eph_public || recipient_public, info=SEAL_INFO, length=32)`,
   both public keys as their 32 raw bytes;
4. `ciphertext = AES-256-GCM(key).encrypt(nonce, plaintext, aad=credential_id as UTF-8)` with a random
   12-byte nonce (the 16-byte tag is appended to the ciphertext);
5. `ephemeral_public_key`, `nonce` and `ciphertext` travel as base64url without padding.

Only the holder of the recipient's private key can derive `key`; the credential id as associated data stops
a box being passed off as another credential's key.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tollgate_contracts.rpc import SEAL_INFO
from tollgate_keyvault.domain.errors import InvalidInput, InvalidRecipientKey

PUBLIC_KEY_BYTES = 32
NONCE_BYTES = 12


@dataclass(frozen=True)
class SealedBox:
    """A sealed secret as it goes on the wire (every field base64url without padding)."""

    ephemeral_public_key: str
    nonce: str
    ciphertext: str


def b64url_encode(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; InvalidInput for anything else."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("not valid base64url") from None


def recipient_key(encoded: str) -> X25519PublicKey:
    """The recipient's X25519 public key from its base64url form."""
    try:
        raw = b64url_decode(encoded)
    except InvalidInput:
        raise InvalidRecipientKey("recipient_public_key is not valid base64url") from None
    if len(raw) != PUBLIC_KEY_BYTES:
        raise InvalidRecipientKey(f"recipient_public_key must be {PUBLIC_KEY_BYTES} bytes")
    return X25519PublicKey.from_public_bytes(raw)


def derive_box_key(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    """The AES-256-GCM key of a box (HKDF-SHA256 as documented above)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_public + recipient_public, info=SEAL_INFO)
    return hkdf.derive(shared)


def seal(secret: bytes, recipient_public_key: str, credential_id: str) -> SealedBox:
    """Seal `secret` to the recipient (base64url X25519 public key), bound to `credential_id`."""
    recipient = recipient_key(recipient_public_key)
    ephemeral = X25519PrivateKey.generate()
    try:
        shared = ephemeral.exchange(recipient)
    except ValueError:
        # A low-order point gives an all-zero secret, which OpenSSL refuses: the key is not a usable one.
        raise InvalidRecipientKey("recipient_public_key is not a usable X25519 key") from None
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    recipient_public = recipient.public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = derive_box_key(shared, ephemeral_public, recipient_public)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(key).encrypt(nonce, secret, credential_id.encode())
    return SealedBox(
        ephemeral_public_key=b64url_encode(ephemeral_public),
        nonce=b64url_encode(nonce),
        ciphertext=b64url_encode(ciphertext),
    )

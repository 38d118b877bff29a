"""Envelope encryption of provider keys at rest.

Each record gets its own random 256-bit data key. The secret is encrypted
with AES-256-GCM under the data key, the record id as associated data, so a
ciphertext copied onto another row does not decrypt. The data key is wrapped
(AES-256-GCM) by a key-encryption key (KEK) with associated data
`record id NUL kek id`, so neither a moved wrapped key nor a relabelled KEK id
decrypts. KEKs carry ids: the keyring (`tollgate_servicekit.keyring`, shared
with auth's signing keys) holds the current KEK (used for new writes) and older
ones (still able to unwrap), so the KEK can rotate and records be re-wrapped
without anyone re-entering a provider key.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tollgate_keyvault.domain.errors import DecryptionFailed, InvalidInput, UnknownKek
from tollgate_servicekit import keyring as keyrings
from tollgate_servicekit.keyring import KEY_BYTES, Kek, Keyring

__all__ = ["KEY_BYTES", "Envelope", "Kek", "Keyring", "RandomBytes", "decrypt", "encrypt", "rewrap"]

NONCE_BYTES = 12
_TAG_BYTES = 16

RandomBytes = Callable[[int], bytes]
"""Source of randomness; `os.urandom` in production, injectable for deterministic tests."""


@dataclass(frozen=True)
class Envelope:
    """What is stored for one secret: nothing here reveals it without the KEK."""

    ciphertext: bytes
    """AES-256-GCM ciphertext and tag of the secret under the data key."""
    nonce: bytes
    """Nonce of `ciphertext`."""
    wrapped_key: bytes
    """Wrap nonce (12 bytes) followed by the AES-256-GCM ciphertext and tag of the data key under the KEK."""
    kek_id: str
    """Id of the KEK that wrapped the data key."""


def _wrap_aad(record_id: str, kek_id: str) -> bytes:
    # NUL cannot occur in either id, so the pair is unambiguous.
    return record_id.encode() + b"\x00" + kek_id.encode()


def _check_record_id(record_id: str) -> bytes:
    if not record_id or "\x00" in record_id:
        raise InvalidInput("record id must be a non-empty string without NUL")
    return record_id.encode()


def encrypt(secret: bytes, record_id: str, keyring: Keyring, random_bytes: RandomBytes = os.urandom) -> Envelope:
    """Encrypt `secret` for the record `record_id` under a fresh data key wrapped by the current KEK."""
    aad = _check_record_id(record_id)
    data_key = random_bytes(KEY_BYTES)
    nonce = random_bytes(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, secret, aad)
    wrapped_key, kek_id = _wrap(data_key, record_id, keyring.current, random_bytes)
    return Envelope(ciphertext=ciphertext, nonce=nonce, wrapped_key=wrapped_key, kek_id=kek_id)


def decrypt(envelope: Envelope, record_id: str, keyring: Keyring) -> bytes:
    """The secret in `envelope`; DecryptionFailed when anything (data, nonce, ids, KEK) does not match."""
    aad = _check_record_id(record_id)
    data_key = _unwrap(envelope, record_id, keyring)
    try:
        return AESGCM(data_key).decrypt(envelope.nonce, envelope.ciphertext, aad)
    except (InvalidTag, ValueError):
        raise DecryptionFailed(f"record {record_id} does not decrypt") from None


def rewrap(envelope: Envelope, record_id: str, keyring: Keyring, random_bytes: RandomBytes = os.urandom) -> Envelope:
    """The same envelope with its data key wrapped by the current KEK (the secret's ciphertext is unchanged)."""
    _check_record_id(record_id)
    data_key = _unwrap(envelope, record_id, keyring)
    wrapped_key, kek_id = _wrap(data_key, record_id, keyring.current, random_bytes)
    return Envelope(ciphertext=envelope.ciphertext, nonce=envelope.nonce, wrapped_key=wrapped_key, kek_id=kek_id)


def _wrap(data_key: bytes, record_id: str, kek: Kek, random_bytes: RandomBytes) -> tuple[bytes, str]:
    wrap_nonce = random_bytes(NONCE_BYTES)
    wrapped = AESGCM(kek.key).encrypt(wrap_nonce, data_key, _wrap_aad(record_id, kek.id))
    return wrap_nonce + wrapped, kek.id


def _unwrap(envelope: Envelope, record_id: str, keyring: Keyring) -> bytes:
    try:
        kek = keyring.get(envelope.kek_id)
    except keyrings.UnknownKek:
        raise UnknownKek(envelope.kek_id) from None
    blob = envelope.wrapped_key
    if len(blob) != NONCE_BYTES + KEY_BYTES + _TAG_BYTES:
        raise DecryptionFailed(f"record {record_id} has a malformed wrapped key")
    try:
        return AESGCM(kek.key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _wrap_aad(record_id, kek.id))
    except (InvalidTag, ValueError):
        raise DecryptionFailed(f"record {record_id} data key does not unwrap with KEK {kek.id!r}") from None

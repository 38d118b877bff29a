"""Signing private keys encrypted at rest: AES-256-GCM under a versioned key-encryption key (KEK).

Stored form, one text value: `tgwrap1:<kek id>:<base64url of nonce ‖ ciphertext ‖ tag>`. The associated data is
`tollgate-auth/signing-key NUL <kid> NUL <kek id>`, so a blob copied onto another key's row, relabelled with
another KEK id, or taken from another use of the same KEK bytes does not decrypt. The keyring holds the current
KEK (encrypts) and older ones (still decrypt): the KEK rotates by adding a new current one, and rows under an
older id are re-encrypted at start (`needs_rewrap`). The `Keyring` itself, and where its KEKs come from, is
servicekit's (`tollgate_servicekit.keyring`). A value without the prefix is a clear PEM written before
encryption at rest existed; `needs_rewrap` says it must be encrypted.

Pure: randomness comes in as an argument, nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tollgate_auth.domain.errors import KeyUnreadable, UnknownKek
from tollgate_contracts.b64 import b64url_decode, b64url_encode
from tollgate_servicekit import keyring as keyrings
from tollgate_servicekit.keyring import Keyring

NONCE_BYTES = 12
TAG_BYTES = 16
PREFIX = "tgwrap1"
PURPOSE = b"tollgate-auth/signing-key"

RandomBytes = Callable[[int], bytes]
"""A source of randomness: `os.urandom` in production, anything deterministic in tests."""


def _aad(kid: str, kek_id: str) -> bytes:
    # NUL cannot occur in a kid (checked) nor in a KEK id (pattern), so the triple is unambiguous.
    return PURPOSE + b"\x00" + kid.encode() + b"\x00" + kek_id.encode()


def _check_kid(kid: str) -> None:
    if not kid or "\x00" in kid:
        raise ValueError("a kid is a non-empty string without NUL")


def is_wrapped(stored: str) -> bool:
    """Whether `stored` is an encrypted value (else it is a clear PEM from before encryption at rest)."""
    return stored.startswith(PREFIX + ":")


def wrapped_kek_id(stored: str) -> str | None:
    """The id of the KEK that encrypted `stored`; None for a clear value."""
    if not is_wrapped(stored):
        return None
    return stored.split(":", 2)[1]


def needs_rewrap(stored: str, keyring: Keyring) -> bool:
    """Whether `stored` is clear or under an older KEK, so it should be written again under the current one."""
    return wrapped_kek_id(stored) != keyring.current.id


def wrap(private: bytes, kid: str, keyring: Keyring, random_bytes: RandomBytes) -> str:
    """`private` encrypted for the key `kid` under the current KEK, in its stored form."""
    _check_kid(kid)
    kek = keyring.current
    nonce = random_bytes(NONCE_BYTES)
    if len(nonce) != NONCE_BYTES:
        raise ValueError(f"the randomness source gave {len(nonce)} bytes, not {NONCE_BYTES}")
    sealed = AESGCM(kek.key).encrypt(nonce, private, _aad(kid, kek.id))
    return f"{PREFIX}:{kek.id}:{b64url_encode(nonce + sealed)}"


def unwrap(stored: str, kid: str, keyring: Keyring) -> bytes:
    """The private key in `stored` (for the key `kid`); `KeyUnreadable` or `UnknownKek` when it cannot be had.

    A clear value (from before encryption at rest) is returned as it is: `needs_rewrap` tells the store to
    encrypt it.
    """
    _check_kid(kid)
    if not is_wrapped(stored):
        return stored.encode()
    parts = stored.split(":")
    if len(parts) != 3:
        raise KeyUnreadable(f"signing key {kid} is stored in an unknown format")
    _, kek_id, body = parts
    try:
        kek = keyring.get(kek_id)
    except keyrings.UnknownKek:
        raise UnknownKek(f"signing key {kid} names KEK {kek_id[:64]!r}, which is not configured") from None
    try:
        blob = b64url_decode(body)
    except ValueError:
        raise KeyUnreadable(f"signing key {kid} is stored in an unknown format") from None
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise KeyUnreadable(f"signing key {kid} is stored truncated")
    try:
        return AESGCM(kek.key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], _aad(kid, kek.id))
    except InvalidTag:
        raise KeyUnreadable(
            f"signing key {kid} does not decrypt with KEK {kek.id!r}: the KEK is not the one it was stored with, "
            "or the row was altered"
        ) from None

"""Signing private keys encrypted at rest: AES-256-GCM under a versioned key-encryption key (KEK).

Stored form, one text value: `tgwrap1:<kek id>:<base64url of nonce ‖ ciphertext ‖ tag>`. The associated data is
`tollgate-auth/signing-key NUL <kid> NUL <kek id>`, so a blob copied onto another key's row, relabelled with
another KEK id, or taken from another use of the same KEK bytes does not decrypt. The keyring holds the current
KEK (encrypts) and older ones (still decrypt): the KEK rotates by adding a new current one, and rows under an
older id are re-encrypted at start (`needs_rewrap`). A value without the prefix is a clear PEM written before
encryption at rest existed; `needs_rewrap` says it must be encrypted.

Pure: randomness comes in as an argument, nothing here does I/O.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tollgate_auth.domain.errors import ConfigurationError, KeyUnreadable, UnknownKek

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
PREFIX = "tgwrap1"
PURPOSE = b"tollgate-auth/signing-key"
KEK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

RandomBytes = Callable[[int], bytes]
"""A source of randomness: `os.urandom` in production, anything deterministic in tests."""


@dataclass(frozen=True, repr=False)
class Kek:
    """One key-encryption key and its id. Its `repr` never shows the key."""

    id: str
    key: bytes

    def __post_init__(self) -> None:
        if not KEK_ID.fullmatch(self.id):
            raise ConfigurationError(
                "a KEK id is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        if len(self.key) != KEY_BYTES:
            raise ConfigurationError(f"KEK {self.id!r} must be {KEY_BYTES} bytes, not {len(self.key)}")

    def __repr__(self) -> str:
        return f"Kek(id={self.id!r})"


class Keyring:
    """The current KEK (encrypts new values) and every older KEK that may still decrypt one."""

    def __init__(self, current: Kek, previous: Iterable[Kek] = ()) -> None:
        keks: dict[str, Kek] = {}
        for kek in (*previous, current):
            if kek.id in keks and keks[kek.id].key != kek.key:
                raise ConfigurationError(f"KEK id {kek.id!r} is configured twice with different keys")
            keks[kek.id] = kek
        self._current = current
        self._keks: Mapping[str, Kek] = MappingProxyType(keks)

    @property
    def current(self) -> Kek:
        return self._current

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._keks)

    def get(self, kek_id: str) -> Kek:
        try:
            return self._keks[kek_id]
        except KeyError:
            raise UnknownKek(f"a stored signing key names KEK {kek_id!r}, which is not configured") from None

    def __repr__(self) -> str:
        return f"Keyring(current={self._current.id!r}, ids={self.ids!r})"


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url (padding optional); `ValueError` for anything else."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


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
    kek = keyring.get(kek_id)
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

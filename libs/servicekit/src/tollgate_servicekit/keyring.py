"""Key-encryption keys (KEKs) with ids, and where a service gets them: the environment or a private file.

A `Keyring` holds the current KEK (encrypts new values) and older ones (still decrypt), so a KEK rotates
without anyone re-entering what it protects. `load_keyring` reads, for a variable prefix `P` (say
`TOLLGATE_KEYVAULT_` or `TOLLGATE_AUTH_SIGNING_`):

- `P`KEK: base64url of 32 bytes, with id `P`KEK_ID — what compose passes;
- `P`KEK_FILE: one `<id> <base64url>` per line, `#` starts a comment, the LAST line is current; generated (mode
  0600, `O_EXCL`, missing directories 0700) when missing — what the embedded stack passes. Rotate by appending;
- `P`PREVIOUS_KEKS: `id:base64url[,id:base64url…]`, older KEKs still needed beside `P`KEK.

What the KEKs encrypt, and how, is the service's business. Errors are one line naming the variable or file and
line, never a value; `repr` never shows a key.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from pydantic import SecretStr

from tollgate_contracts.b64 import b64url_decode, b64url_encode
from tollgate_servicekit.secretfiles import SecretMissing, create_private_file, read_private_file

logger = logging.getLogger(__name__)

KEY_BYTES = 32
KEK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class KeyringError(ValueError):
    """A KEK setting that cannot work: missing, malformed, or two keys under one id."""


class UnknownKek(KeyringError):
    """A value names a KEK id the keyring does not hold."""


@dataclass(frozen=True, repr=False)
class Kek:
    """One key-encryption key and its id."""

    id: str
    key: bytes

    def __post_init__(self) -> None:
        if not KEK_ID.fullmatch(self.id):
            raise KeyringError("a KEK id is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        if len(self.key) != KEY_BYTES:
            raise KeyringError(f"KEK {self.id!r} must be {KEY_BYTES} bytes, not {len(self.key)}")

    def __repr__(self) -> str:
        return f"Kek(id={self.id!r})"


class Keyring:
    """The current KEK and every older KEK that may still decrypt a value."""

    def __init__(self, current: Kek, previous: Iterable[Kek] = ()) -> None:
        keks: dict[str, Kek] = {}
        for kek in (*previous, current):
            if kek.id in keks and keks[kek.id].key != kek.key:
                raise KeyringError(f"KEK id {kek.id!r} is configured twice with different keys")
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
            raise UnknownKek(f"KEK {kek_id[:64]!r} is not configured") from None

    def __repr__(self) -> str:
        return f"Keyring(current={self._current.id!r}, ids={self.ids!r})"


def new_kek_text() -> str:
    """A fresh random KEK as base64url (what a `…_KEK` variable takes)."""
    return b64url_encode(secrets.token_bytes(KEY_BYTES))


def parse_kek(kek_id: str, encoded: str, where: str) -> Kek:
    """The KEK `encoded` (base64url) under `kek_id`; `where` (a variable, a file and line) names it in errors."""
    try:
        key = b64url_decode(encoded.strip())
    except ValueError:
        raise KeyringError(f"{where}: not base64url (a KEK is base64url of {KEY_BYTES} bytes)") from None
    try:
        return Kek(kek_id, key)
    except KeyringError as exc:
        raise KeyringError(f"{where}: {exc}") from None


def parse_previous(text: str, where: str) -> list[Kek]:
    """`id:base64url[,id:base64url…]`."""
    keks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        kek_id, sep, encoded = item.partition(":")
        if not sep:
            raise KeyringError(f"{where}: expected 'id:base64url[,id:base64url…]'")
        keks.append(parse_kek(kek_id.strip(), encoded, where))
    return keks


def read_kek_file(path: Path, *, what: str = "KEK") -> list[Kek]:
    """Every KEK in the file, oldest first (a warning when group or others may read it)."""
    try:
        content = read_private_file(path, name=what).get_secret_value()
    except SecretMissing:
        raise KeyringError(f"{what} file {path} holds no key") from None
    keks: list[Kek] = []
    for number, raw in enumerate(content.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise KeyringError(f"{what} file {path} line {number}: expected '<id> <base64url key>'")
        keks.append(parse_kek(parts[0], parts[1], f"{what} file {path} line {number}"))
    if not keks:
        raise KeyringError(f"{what} file {path} holds no key")
    return keks


def generate_kek_file(path: Path, kek_id: str, *, what: str = "KEK", id_name: str = "the KEK id") -> list[Kek]:
    """Write a new KEK file (0600, never over one another process wrote first: then that one is read);
    `id_name` names where `kek_id` came from in errors."""
    kek = parse_kek(kek_id, new_kek_text(), id_name)
    header = f"# {what}s: '<id> <base64url of {KEY_BYTES} bytes>' per line; the last line is current.\n"
    if not create_private_file(path, f"{header}{kek.id} {b64url_encode(kek.key)}\n"):
        return read_kek_file(path, what=what)
    logger.info("generated a new %s (id %s) in %s (mode 0600)", what, kek.id, path)
    return [kek]


def load_keyring(
    *,
    kek: SecretStr | None,
    kek_id: str,
    previous: SecretStr | None,
    file: Path | None,
    env: str,
    what: str = "KEK",
) -> Keyring:
    """The keyring of the settings `env`KEK, `env`KEK_ID, `env`PREVIOUS_KEKS, `env`KEK_FILE (see the module
    docstring); a KEK file that does not exist yet is generated. `KeyringError` when there is no KEK at all."""
    if kek is not None and file is not None:
        raise KeyringError(f"set either {env}KEK or {env}KEK_FILE, not both")
    older = parse_previous(previous.get_secret_value(), f"{env}PREVIOUS_KEKS") if previous is not None else []
    if kek is not None:
        return Keyring(parse_kek(kek_id, kek.get_secret_value(), f"{env}KEK"), older)
    if file is not None:
        if file.exists():
            keks = read_kek_file(file, what=what)
        else:
            keks = generate_kek_file(file, kek_id, what=what, id_name=f"{env}KEK_ID")
        return Keyring(keks[-1], [*older, *keks[:-1]])
    raise KeyringError(
        f"no {what} configured: set {env}KEK (base64url of {KEY_BYTES} random bytes) "
        f"or {env}KEK_FILE (generated when missing)"
    )

"""The keyring that encrypts signing private keys at rest, from the settings or a file. Kept like keyvault's KEK.

- `TOLLGATE_AUTH_SIGNING_KEK` (base64url of 32 bytes, id `TOLLGATE_AUTH_SIGNING_KEK_ID`, default `k1`): what
  compose passes;
- `TOLLGATE_AUTH_SIGNING_KEK_FILE`: one `<kek id> <base64url>` per line, `#` starts a comment, the LAST line is
  current; generated (mode 0600, `O_EXCL`, directory 0700) when missing: what the embedded stack passes.
- `TOLLGATE_AUTH_SIGNING_PREVIOUS_KEKS` (`id:base64url,…`): older KEKs still needed to decrypt.

To rotate, make a new KEK current (append a line to the file, or set the new KEK and move the old one to
PREVIOUS_KEKS) and restart: stored keys are re-encrypted under it at start. Errors name variables and paths, never
a value.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from tollgate_auth.domain.errors import ConfigurationError
from tollgate_auth.domain.keywrap import KEY_BYTES, Kek, Keyring, b64url_decode, b64url_encode
from tollgate_auth.settings import Settings
from tollgate_servicekit.secretfiles import SecretMissing, create_private_file, read_private_file

log = logging.getLogger(__name__)

ENV = "TOLLGATE_AUTH_"
FILE_HEADER = "# Tollgate auth signing-key KEKs: '<id> <base64url of 32 bytes>' per line; the last line is current.\n"


def load_signing_keyring(settings: Settings) -> Keyring:
    """The keyring the settings describe; a KEK file that does not exist yet is generated. `ConfigurationError`
    (one line, naming what to set) when there is no KEK or it is malformed."""
    if settings.signing_kek is not None and settings.signing_kek_file is not None:
        raise ConfigurationError(f"set either {ENV}SIGNING_KEK or {ENV}SIGNING_KEK_FILE, not both")
    previous = _parse_pairs(settings.signing_previous_keks.get_secret_value()) if settings.signing_previous_keks else []
    if settings.signing_kek is not None:
        current = _kek(settings.signing_kek_id, settings.signing_kek.get_secret_value(), f"{ENV}SIGNING_KEK")
        return Keyring(current, previous)
    path = settings.signing_kek_file
    if path is not None:
        keks = read_kek_file(path) if path.exists() else generate_kek_file(path, settings.signing_kek_id)
        return Keyring(keks[-1], [*previous, *keks[:-1]])
    raise ConfigurationError(
        f"no signing-key KEK configured: set {ENV}SIGNING_KEK (base64url of {KEY_BYTES} random bytes) "
        f"or {ENV}SIGNING_KEK_FILE (generated when missing)"
    )


def new_kek_text() -> str:
    """A fresh KEK as base64url (what `TOLLGATE_AUTH_SIGNING_KEK` takes)."""
    return b64url_encode(secrets.token_bytes(KEY_BYTES))


def read_kek_file(path: Path) -> list[Kek]:
    """Every KEK in the file, oldest first."""
    try:
        content = read_private_file(path, name="signing-key KEK").get_secret_value()  # warns if others may read it
    except SecretMissing:
        raise ConfigurationError(f"signing-key KEK file {path} holds no key") from None
    keks: list[Kek] = []
    for number, raw in enumerate(content.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ConfigurationError(f"signing-key KEK file {path} line {number}: expected '<id> <base64url key>'")
        keks.append(_kek(parts[0], parts[1], f"signing-key KEK file {path} line {number}"))
    if not keks:
        raise ConfigurationError(f"signing-key KEK file {path} holds no key")
    return keks


def generate_kek_file(path: Path, kek_id: str) -> list[Kek]:
    """Write a new KEK file (mode 0600 in a directory made 0700; never over one another process wrote first)."""
    kek = _kek(kek_id, new_kek_text(), f"{ENV}SIGNING_KEK_ID")
    if not create_private_file(path, f"{FILE_HEADER}{kek.id} {b64url_encode(kek.key)}\n"):
        return read_kek_file(path)  # another process generated it first: use theirs
    log.info("generated a new signing-key KEK (id %s) in %s (mode 0600)", kek.id, path)
    return [kek]


def _kek(kek_id: str, encoded: str, where: str) -> Kek:
    try:
        key = b64url_decode(encoded.strip())
    except ValueError:
        raise ConfigurationError(f"{where}: not base64url (a KEK is base64url of {KEY_BYTES} bytes)") from None
    try:
        return Kek(kek_id, key)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc.message}") from None


def _parse_pairs(text: str) -> list[Kek]:
    keks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        kek_id, sep, encoded = item.partition(":")
        if not sep:
            raise ConfigurationError(f"{ENV}SIGNING_PREVIOUS_KEKS: expected 'id:base64url[,id:base64url…]'")
        keks.append(_kek(kek_id.strip(), encoded, f"{ENV}SIGNING_PREVIOUS_KEKS"))
    return keks

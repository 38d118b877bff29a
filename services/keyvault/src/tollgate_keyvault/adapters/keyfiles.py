"""The KEK keyring and the admin key, from settings and files. Errors name variables and paths, never values.

KEK file format: one `<kek id> <base64url of 32 bytes>` per line, `#` starts a
comment, the LAST line is the current KEK. To rotate, append a new line and
restart: records are re-wrapped under it at start, and older lines stay for
records that could not be re-wrapped yet.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from tollgate_contracts.sealedbox import b64url_decode, b64url_encode
from tollgate_keyvault.domain.envelope import KEY_BYTES, Kek, Keyring
from tollgate_keyvault.domain.errors import ConfigurationError, InvalidInput
from tollgate_keyvault.settings import Settings

logger = logging.getLogger(__name__)

ENV = "TOLLGATE_KEYVAULT_"


def load_keyring(settings: Settings) -> Keyring:
    """The keyring the settings describe; a KEK file that does not exist yet is generated (mode 0600)."""
    if settings.kek is not None and settings.kek_file is not None:
        raise ConfigurationError(f"set either {ENV}KEK or {ENV}KEK_FILE, not both")
    previous = _parse_pairs(settings.previous_keks.get_secret_value()) if settings.previous_keks else []
    if settings.kek is not None:
        current = _kek(settings.kek_id, settings.kek.get_secret_value(), f"{ENV}KEK")
        return _keyring(current, previous)
    if settings.kek_file is not None:
        keks = read_kek_file(settings.kek_file) if settings.kek_file.exists() else None
        if keks is None:
            keks = generate_kek_file(settings.kek_file, settings.kek_id)
        return _keyring(keks[-1], [*previous, *keks[:-1]])
    raise ConfigurationError(f"no KEK configured: set {ENV}KEK (base64url of 32 bytes) or {ENV}KEK_FILE")


def resolve_admin_key(settings: Settings) -> str:
    """The admin key from `ADMIN_KEY`, else from an existing `ADMIN_KEY_FILE`; keyvault never invents one."""
    if settings.admin_key is not None:
        key = settings.admin_key.get_secret_value().strip()
        if not key:
            raise ConfigurationError(f"{ENV}ADMIN_KEY is empty")
        return key
    path = settings.admin_key_file
    if path is not None and path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if not key:
            raise ConfigurationError(f"admin key file {path} is empty")
        return key
    where = f" ({path} does not exist)" if path is not None else ""
    raise ConfigurationError(f"no admin key configured: set {ENV}ADMIN_KEY or {ENV}ADMIN_KEY_FILE{where}")


def check_startup(settings: Settings) -> tuple[Keyring, str]:
    """Keyring and admin key, or one ConfigurationError naming everything that is missing."""
    problems: list[str] = []
    keyring: Keyring | None = None
    admin_key: str | None = None
    try:
        keyring = load_keyring(settings)
    except ConfigurationError as exc:
        problems.append(str(exc))
    try:
        admin_key = resolve_admin_key(settings)
    except ConfigurationError as exc:
        problems.append(str(exc))
    if keyring is None or admin_key is None:
        raise ConfigurationError("; ".join(problems))
    return keyring, admin_key


def new_kek_text() -> str:
    """A fresh KEK as base64url (what `TOLLGATE_KEYVAULT_KEK` takes)."""
    return b64url_encode(secrets.token_bytes(KEY_BYTES))


def read_kek_file(path: Path) -> list[Kek]:
    """Every KEK in the file, oldest first."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("KEK file %s is readable by group or others; chmod 600 it", path)
    keks: list[Kek] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ConfigurationError(f"KEK file {path} line {number}: expected '<id> <base64url key>'")
        keks.append(_kek(parts[0], parts[1], f"KEK file {path} line {number}"))
    if not keks:
        raise ConfigurationError(f"KEK file {path} holds no key")
    return keks


def generate_kek_file(path: Path, kek_id: str) -> list[Kek]:
    """Write a new KEK file (mode 0600, never overwriting one another process wrote first) and read it."""
    kek = _kek(kek_id, new_kek_text(), f"{ENV}KEK_ID")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = (
        "# Tollgate keyvault key-encryption keys: '<id> <base64url 32 bytes>' per line; the last line is current.\n"
        f"{kek.id} {b64url_encode(kek.key)}\n"
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_kek_file(path)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    logger.info("generated a new KEK (id %s) in %s", kek.id, path)
    return [kek]


def _kek(kek_id: str, encoded: str, where: str) -> Kek:
    try:
        return Kek(kek_id, b64url_decode(encoded.strip()))
    except (InvalidInput, ValueError) as exc:
        raise ConfigurationError(f"{where}: {exc} (a KEK is base64url of {KEY_BYTES} bytes)") from None


def _parse_pairs(text: str) -> list[Kek]:
    keks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        kek_id, sep, encoded = item.partition(":")
        if not sep:
            raise ConfigurationError(f"{ENV}PREVIOUS_KEKS: expected 'id:base64url[,id:base64url…]'")
        keks.append(_kek(kek_id.strip(), encoded, f"{ENV}PREVIOUS_KEKS"))
    return keks


def _keyring(current: Kek, previous: list[Kek]) -> Keyring:
    try:
        return Keyring(current, previous)
    except InvalidInput as exc:
        raise ConfigurationError(str(exc)) from None

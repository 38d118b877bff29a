"""The KEK keyring and the admin key, from settings and files (servicekit's loaders). Errors name variables and
paths, never values.

KEKs: `TOLLGATE_KEYVAULT_KEK` (+ `_KEK_ID`), or `TOLLGATE_KEYVAULT_KEK_FILE` — one `<kek id> <base64url of 32
bytes>` per line, `#` starts a comment, the LAST line is the current KEK, generated (0600) when missing — plus
`TOLLGATE_KEYVAULT_PREVIOUS_KEKS`. To rotate, append a new line and restart: records are re-wrapped under it at
start, and older lines stay for records that could not be re-wrapped yet (`tollgate_servicekit.keyring`).
"""

from __future__ import annotations

from pydantic import SecretStr

from tollgate_keyvault.domain.errors import ConfigurationError
from tollgate_keyvault.settings import Settings
from tollgate_servicekit import keyring as keyrings
from tollgate_servicekit.keyring import Keyring
from tollgate_servicekit.secretfiles import SecretMissing, resolve_secret

ENV = "TOLLGATE_KEYVAULT_"


def load_keyring(settings: Settings) -> Keyring:
    """The keyring the settings describe; a KEK file that does not exist yet is generated (mode 0600)."""
    try:
        return keyrings.load_keyring(
            kek=settings.kek,
            kek_id=settings.kek_id,
            previous=settings.previous_keks,
            file=settings.kek_file,
            env=ENV,
        )
    except keyrings.KeyringError as exc:
        raise ConfigurationError(str(exc)) from None


def resolve_admin_key(settings: Settings) -> SecretStr:
    """The admin key from `ADMIN_KEY`, else from an existing `ADMIN_KEY_FILE`; keyvault never invents one."""
    try:
        return resolve_secret(settings.admin_key, settings.admin_key_file, name=f"{ENV}ADMIN_KEY")
    except SecretMissing as exc:
        raise ConfigurationError(f"{exc}: set {ENV}ADMIN_KEY or {ENV}ADMIN_KEY_FILE") from None


def check_startup(settings: Settings) -> tuple[Keyring, SecretStr]:
    """Keyring and admin key, or one ConfigurationError naming everything that is missing."""
    problems: list[str] = []
    keyring: Keyring | None = None
    admin_key: SecretStr | None = None
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

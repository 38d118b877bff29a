"""The admin key: from the environment, from a file, or generated into that file. Never logged."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from pydantic import SecretStr

from tollgate_auth.settings import Settings

log = logging.getLogger(__name__)

ADMIN_KEY_PREFIX = "tga_"
SHORT_KEY = 16


def generate_admin_key() -> str:
    """`tga_` and 43 url-safe characters (256 bits)."""
    return ADMIN_KEY_PREFIX + secrets.token_urlsafe(32)


def resolve_admin_key(settings: Settings) -> SecretStr:
    """`ADMIN_KEY`, else the contents of an existing `ADMIN_KEY_FILE`, else a new key (written to that file if set)."""
    if settings.admin_key is not None:
        return _checked(settings.admin_key.get_secret_value(), "TOLLGATE_AUTH_ADMIN_KEY")
    path = settings.admin_key_file
    if path is not None and path.exists():
        return _read(path)
    key = generate_admin_key()
    if path is None:
        log.warning(
            "no admin key configured (TOLLGATE_AUTH_ADMIN_KEY or TOLLGATE_AUTH_ADMIN_KEY_FILE): generated one that is "
            "stored nowhere, so the admin API cannot be used until one is configured"
        )
        return SecretStr(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process generated it first; use theirs.
        return _read(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    log.info("generated an admin key and wrote it to %s (mode 0600)", path)
    return SecretStr(key)


def _read(path: Path) -> SecretStr:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("admin key file %s is readable by group or others; chmod 600 it", path)
    return _checked(path.read_text(), f"admin key file {path}")


def _checked(raw: str, source: str) -> SecretStr:
    key = raw.strip()
    if not key:
        raise ValueError(f"{source} is empty")
    if len(key) < SHORT_KEY:
        log.warning("the admin key from %s is shorter than %d characters", source, SHORT_KEY)
    return SecretStr(key)

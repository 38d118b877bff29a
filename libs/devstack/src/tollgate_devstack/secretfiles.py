"""Secrets a stack keeps in files (mode 0600), so they are passed by path and never printed or logged."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from tollgate_servicekit.secretfiles import ensure_private_dir


def new_admin_key() -> str:
    """An admin key in auth's own format: `tga_` and 43 URL-safe characters."""
    return "tga_" + secrets.token_urlsafe(32)


def new_mock_key() -> str:
    """A key for the mock provider, shaped like a provider key so scanners and `last4` behave as with a real one."""
    return "sk-mock-" + secrets.token_urlsafe(24)


def new_nats_password() -> str:
    """A NATS user's password: 43 URL-safe characters (written quoted into nats.conf, sent unescaped in URLs)."""
    return secrets.token_urlsafe(32)


def nats_password(path: Path) -> str:
    """The NATS password kept at `path` (0600, in a 0700 directory), generated there on first use."""
    ensure_private_dir(path.parent)
    return read_or_create_secret(path, new_nats_password)


def write_secret(path: Path, value: str) -> None:
    """Write `value` to `path` readable by the owner only (created 0600, never briefly world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)


def read_or_create_secret(path: Path, factory: Callable[[], str]) -> str:
    """The secret stored at `path`, or a new one from `factory` written there; a restarted stack keeps its keys."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            os.chmod(path, 0o600)  # a file from an older stack may be readable by others
            return value
    value = factory()
    write_secret(path, value)
    return value

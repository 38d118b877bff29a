"""Secrets a stack keeps in files (mode 0600), so they are passed by path and never printed or logged."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from tollgate_servicekit.secretfiles import ensure_private_dir, new_password, write_private_file


def new_admin_key() -> str:
    """An admin key in auth's own format: `tga_` and 43 URL-safe characters."""
    return "tga_" + secrets.token_urlsafe(32)


def new_mock_key() -> str:
    """A key for the mock provider, shaped like a provider key so scanners and `last4` behave as with a real one."""
    return "sk-mock-" + secrets.token_urlsafe(24)


def nats_password(path: Path) -> str:
    """The NATS password kept at `path` (0600, in a 0700 directory), generated there on first use."""
    ensure_private_dir(path.parent)
    return read_or_create_secret(path, new_password)


def read_or_create_secret(path: Path, factory: Callable[[], str]) -> str:
    """The secret stored at `path`, or a new one from `factory` written there; a restarted stack keeps its keys."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            os.chmod(path, 0o600)  # a file from an older stack may be readable by others
            return value
    value = factory()
    write_private_file(path, value + "\n")
    return value

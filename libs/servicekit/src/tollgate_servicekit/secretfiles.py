"""Secrets from the environment or from files of mode 0600, generated into a new file when allowed.

Generated files are written whole, then linked into place (`link` refuses an existing name, so two processes
starting together never overwrite each other's secret, and the loser reads the winner's, never an empty file) in
directories created 0700; `write_private_file` replaces a file rendered afresh at
each start. A file readable by group or others is used, with a warning. Nothing here logs a secret's value.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr

logger = logging.getLogger(__name__)

SHORT_SECRET = 16


class SecretMissing(ValueError):
    """No secret configured where one is required, or the configured one is empty."""


def ensure_private_dir(path: Path) -> Path:
    """Create `path` and any missing parents with mode 0700 (existing directories are left as they are)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue
        # mkdir's mode passes through the umask, which may only remove bits: set exactly 0700.
        directory.chmod(0o700)
    return path


def create_private_file(path: Path, content: str) -> bool:
    """Write `content` to a NEW file of mode 0600 (directories made 0700); False if the file already existed."""
    ensure_private_dir(path.parent)
    if path.exists():
        return False
    # Written whole under a temporary name, then linked into place: `link` refuses an existing name as O_EXCL does,
    # and a process starting at the same moment never finds the file empty (it would refuse to start).
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    return True


def write_private_file(path: Path, content: str) -> None:
    """Write `content` to `path` readable by the owner only, replacing what was there (a file rendered afresh at
    each start, such as a nats-server configuration holding passwords): created 0600, never briefly readable by
    others, an existing file tightened to 0600; missing directories 0700."""
    ensure_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_TRUNC: tighten it before the new content
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)


def new_password() -> str:
    """A generated password: 43 URL-safe characters (safe quoted in a nats-server configuration and unescaped in
    a URL's user-info)."""
    return secrets.token_urlsafe(32)


def read_private_file(path: Path, *, name: str = "secret") -> SecretStr:
    """The stripped contents of `path`; warns when group or others may read it, refuses an empty file."""
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        logger.warning("%s file %s is readable by group or others; chmod 600 it", name, path)
    return _checked(path.read_text(encoding="utf-8"), f"{name} file {path}")


def resolve_secret(
    value: str | SecretStr | None,
    file: Path | None,
    *,
    generate: Callable[[], str] | None = None,
    name: str = "secret",
) -> SecretStr:
    """The secret from `value` (the environment), else from an existing `file`, else — when `generate` is given —
    a new one written to `file` (0600, `O_EXCL`). `name` (e.g. `TOLLGATE_AUTH_ADMIN_KEY`) appears in messages.

    Without `file`, a generated secret is kept in memory only (and a warning says nobody can use it). Without
    `generate`, a missing secret raises `SecretMissing`.
    """
    if value is not None:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        return _checked(raw, name)
    if file is not None and file.exists():
        return read_private_file(file, name=name)
    if generate is None:
        where = f" ({file} does not exist)" if file is not None else ""
        raise SecretMissing(f"no {name} configured{where}")
    secret = generate()
    if file is None:
        logger.warning("no %s configured: generated one that is stored nowhere", name)
        return _checked(secret, name)
    if not create_private_file(file, secret + "\n"):
        # Another process generated it first: use theirs.
        return read_private_file(file, name=name)
    logger.info("generated a new %s in %s (mode 0600)", name, file)
    return _checked(secret, name)


def _checked(raw: str, source: str) -> SecretStr:
    secret = raw.strip()
    if not secret:
        raise SecretMissing(f"{source} is empty")
    if len(secret) < SHORT_SECRET:
        logger.warning("the %s is shorter than %d characters", source, SHORT_SECRET)
    return SecretStr(secret)

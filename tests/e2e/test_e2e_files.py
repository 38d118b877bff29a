"""Secrets at rest: in the `.tollgate/` of a running `make run`, the keys, the KEKs, the NATS passwords and config
and the SQLite databases are files of mode 0600, in directories of mode 0700; nothing there is open to others."""

from __future__ import annotations

import stat
from pathlib import Path

import openai
import pytest

from tollgate_devstack.instructions import END_LINE
from tollgate_devstack.testing import Cli, DevRun

pytestmark = pytest.mark.e2e

SECRET_FILES = ("admin-key", "mock-provider-key", "kek", "signing-kek")
PRIVATE_DIRS = (".", "logs", "data", "nats")
DATABASES = ("data/auth.db", "data/keyvault.db", "data/metering.db")


def modes(home: Path) -> dict[str, int]:
    """The permission bits of the stack dir and of everything under it, by path relative to it."""
    found: dict[str, int] = {}
    for path in [home, *home.rglob("*")]:
        try:
            found[str(path.relative_to(home))] = stat.S_IMODE(path.lstat().st_mode)
        except FileNotFoundError:
            continue  # a temporary file a running server renamed away meanwhile
    return found


def test_every_secret_file_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    with DevRun.start(tmp_path) as dev:
        dev.wait_for_line(END_LINE, timeout=180)
        # One round through every service, so each database holds rows and every file a stack writes exists.
        cli = Cli(cwd=tmp_path, extra_env=dev.cli_env())
        grant = cli.json("grant", "create", "--provider", "openai", "--model", "gpt-4o-mini")
        token = cli.json("token", "mint", grant["id"])["access_token"]
        with openai.OpenAI(base_url=f"{dev.url('proxy')}/v1", api_key=token, max_retries=0) as client:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

        found = modes(dev.home)
        wrong = {name: oct(found.get(name, 0)) for name in SECRET_FILES if found.get(name) != 0o600}
        assert wrong == {}, f"secret files not 0600 (0 = missing): {wrong}"
        databases = sorted(name for name in found if name.startswith(DATABASES))  # with their -wal and -shm
        assert set(DATABASES) <= set(databases)
        assert {name: oct(found[name]) for name in databases if found[name] != 0o600} == {}
        nats_files = [name for name in found if name.startswith("nats/") and (dev.home / name).is_file()]
        assert {name: oct(found[name]) for name in nats_files if name.count("/") == 1 and found[name] != 0o600} == {}
        assert {name: oct(found.get(name, 0)) for name in PRIVATE_DIRS if found.get(name) != 0o700} == {}
        assert {name: oct(mode) for name, mode in found.items() if mode & 0o077} == {}, "open to group or others"
        assert dev.interrupt() == 0, dev.report()

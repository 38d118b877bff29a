"""Start-up: KEK and admin key configuration, the generated KEK file, and the console script as a real process."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from tollgate_keyvault.adapters.keyfiles import check_startup, load_keyring, resolve_admin_key
from tollgate_keyvault.app import create_app
from tollgate_keyvault.domain.errors import ConfigurationError
from tollgate_keyvault.settings import Settings
from tollgate_servicekit.keyring import new_kek_text
from tollgate_servicekit.natsserver import NatsServer
from tollgate_servicekit.tcp import free_port
from tollgate_servicekit.testing import eventually

SCRIPT = Path(sys.executable).parent / "tollgate-keyvault"


@pytest.fixture(autouse=True)
def _no_keyvault_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """`Settings()` here must see only what each test gives it, whatever the machine's environment holds."""
    for name in list(os.environ):
        if name.startswith("TOLLGATE_KEYVAULT_"):
            monkeypatch.delenv(name)


def test_without_kek_or_admin_key_the_app_refuses_naming_both() -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_app(Settings())
    message = str(caught.value)
    assert "no KEK configured" in message and "TOLLGATE_KEYVAULT_KEK_FILE" in message
    assert "no TOLLGATE_KEYVAULT_ADMIN_KEY configured" in message and "TOLLGATE_KEYVAULT_ADMIN_KEY_FILE" in message
    assert "\n" not in message


def test_an_admin_key_file_that_does_not_exist_is_not_an_admin_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        resolve_admin_key(Settings(admin_key_file=tmp_path / "missing"))
    (tmp_path / "admin").write_text("tga_from_file\n")
    (tmp_path / "admin").chmod(0o600)
    assert resolve_admin_key(Settings(admin_key_file=tmp_path / "admin")).get_secret_value() == "tga_from_file"


def test_a_missing_kek_file_is_generated_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "kek"
    first = load_keyring(Settings(kek_file=path, kek_id="main"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_keyring(Settings(kek_file=path))
    assert first.current.id == second.current.id == "main"
    assert first.current.key == second.current.key


def test_the_last_line_of_a_kek_file_is_current_and_earlier_lines_still_unwrap(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    path.write_text(f"# rotated\nk1 {new_kek_text()}\nk2 {new_kek_text()}  # since March\n")
    path.chmod(0o600)
    keyring = load_keyring(Settings(kek_file=path))
    assert keyring.current.id == "k2"
    assert set(keyring.ids) == {"k1", "k2"}


@pytest.mark.parametrize("bad", ["tooshort", "!!!!", new_kek_text() + "AAAA"])
def test_a_malformed_kek_is_refused_without_showing_it(bad: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_keyring(Settings(kek=SecretStr(bad)))
    assert bad not in str(caught.value)
    assert "TOLLGATE_KEYVAULT_KEK" in str(caught.value)


def test_kek_and_kek_file_together_are_ambiguous(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        load_keyring(Settings(kek=SecretStr(new_kek_text()), kek_file=tmp_path / "kek"))


def test_previous_keks_join_the_keyring(tmp_path: Path) -> None:
    keyring, admin = check_startup(
        Settings(
            kek=SecretStr(new_kek_text()),
            kek_id="k3",
            previous_keks=SecretStr(f"k1:{new_kek_text()}, k2:{new_kek_text()}"),
            admin_key=SecretStr("a"),
        )
    )
    assert (keyring.current.id, set(keyring.ids), admin.get_secret_value()) == ("k3", {"k1", "k2", "k3"}, "a")


def _clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_KEYVAULT_")}
    env.update(values)
    return env


def test_the_console_script_refuses_to_start_with_one_line_when_unconfigured(tmp_path: Path) -> None:
    result = subprocess.run([str(SCRIPT)], env=_clean_env(), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("tollgate-keyvault: no KEK configured")


@pytest.fixture
def keyvault_process(streams: NatsServer, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    env = _clean_env(
        TOLLGATE_KEYVAULT_PORT=str(port),
        TOLLGATE_KEYVAULT_NATS_URL=streams.url,
        TOLLGATE_KEYVAULT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'kv.db'}",
        TOLLGATE_KEYVAULT_KEK_FILE=str(tmp_path / "kek"),
        TOLLGATE_KEYVAULT_ADMIN_KEY="tga_process",
    )
    process = subprocess.Popen([str(SCRIPT)], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


async def test_the_console_script_serves_readyz_from_env_vars_and_stops_cleanly_on_sigterm(
    keyvault_process: tuple[subprocess.Popen[str], int], tmp_path: Path
) -> None:
    process, port = keyvault_process
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as client:

        async def ready() -> bool:
            assert process.poll() is None, "keyvault exited early"
            return (await client.get("/readyz")).status_code == 200

        await eventually(ready, what="keyvault /readyz", timeout=30, ignore=(httpx.TransportError,))
        assert stat.S_IMODE((tmp_path / "kek").stat().st_mode) == 0o600
        listed = await client.get("/v1/credentials", headers={"Authorization": "Bearer tga_process"})
        assert listed.json() == {"data": []}
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "keyvault ready" in stderr
    assert "tga_process" not in stderr

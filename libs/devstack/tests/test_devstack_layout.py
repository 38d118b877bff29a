"""Ports, settings and secret files of a stack, without starting anything."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from tollgate_devstack.layout import PORT_ENV_VARS, StackPaths, StackPorts
from tollgate_devstack.secretfiles import new_admin_key, read_or_create_secret
from tollgate_devstack.services import Database, base_env, mock_env, script, service_env
from tollgate_servicekit.tcp import free_port, port_is_free


def test_the_default_ports_are_the_briefs() -> None:
    ports = StackPorts()
    assert (ports.proxy, ports.auth, ports.metering, ports.keyvault, ports.mock) == (8080, 8081, 8082, 8083, 8090)
    assert (ports.nats, ports.nats_monitor) == (4333, 8333)


def test_each_port_can_be_overridden_from_the_environment() -> None:
    env = {var: str(20_000 + i) for i, var in enumerate(PORT_ENV_VARS.values())}
    ports = StackPorts().with_env_overrides(env)
    assert sorted(port for _, port in ports.items()) == list(range(20_000, 20_000 + len(PORT_ENV_VARS)))
    assert ports.proxy == int(env["TOLLGATE_DEV_PROXY_PORT"])


@pytest.mark.parametrize("value", ["http", "0", "70000"])
def test_a_bad_port_override_names_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="TOLLGATE_DEV_AUTH_PORT"):
        StackPorts().with_env_overrides({"TOLLGATE_DEV_AUTH_PORT": value})


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = StackPorts.free()
    values = [port for _, port in ports.items()]
    assert len(set(values)) == len(values)
    assert all(port_is_free(port) for port in values)


def test_each_service_gets_its_own_prefixed_settings_and_sqlite_file(tmp_path: Path) -> None:
    ports, paths = StackPorts.free(), StackPaths(tmp_path)
    env = service_env("keyvault", ports=ports, paths=paths, database=Database(), log_level="DEBUG")
    assert env["TOLLGATE_KEYVAULT_PORT"] == str(ports.keyvault)
    assert env["TOLLGATE_KEYVAULT_NATS_URL"] == f"nats://127.0.0.1:{ports.nats}"
    assert env["TOLLGATE_KEYVAULT_ADMIN_KEY_FILE"] == str(tmp_path / "admin-key")
    assert env["TOLLGATE_KEYVAULT_KEK_FILE"] == str(tmp_path / "kek")
    assert env["TOLLGATE_KEYVAULT_DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'keyvault.db'}"
    assert all(key.startswith("TOLLGATE_KEYVAULT_") for key in env)

    proxy = service_env("proxy", ports=ports, paths=paths, database=Database(), log_level="INFO")
    assert "TOLLGATE_PROXY_DATABASE_URL" not in proxy


def test_on_postgresql_each_service_gets_a_schema_of_its_own(tmp_path: Path) -> None:
    database = Database("postgresql+asyncpg://pg/test", schema_prefix="e2e_abc")
    paths = StackPaths(tmp_path)
    env = service_env("metering", ports=StackPorts(), paths=paths, database=database, log_level="INFO")
    assert env["TOLLGATE_METERING_DATABASE_URL"] == "postgresql+asyncpg://pg/test"
    assert env["TOLLGATE_METERING_DATABASE_SCHEMA"] == "e2e_abc_metering"
    assert database.schemas() == ["e2e_abc_auth", "e2e_abc_keyvault", "e2e_abc_metering"]


def test_no_stray_tollgate_setting_from_the_shell_reaches_a_service() -> None:
    env = base_env({"PATH": "/bin", "TOLLGATE_AUTH_DATABASE_URL": "sqlite:///elsewhere", "TOLLGATE_HOME": "x"})
    assert env == {"PATH": "/bin", "PYTHONUNBUFFERED": "1"}


def test_the_mock_gets_its_port_and_key() -> None:
    env = mock_env(ports=StackPorts(), api_key="sk-mock-1", log_level="INFO")
    assert env["TOLLGATE_MOCK_PORT"] == "8090"
    assert env["TOLLGATE_MOCK_API_KEY"] == "sk-mock-1"


def test_console_scripts_come_from_this_venv() -> None:
    assert Path(script("tollgate-auth")).parent == Path(sys.executable).parent
    assert Path(script("tollgate-auth")).exists()


def test_secrets_are_owner_only_and_kept_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "admin-key"
    first = read_or_create_secret(path, new_admin_key)
    assert first.startswith("tga_")
    assert len(first) == 4 + 43
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_create_secret(path, new_admin_key) == first


def test_a_port_in_use_is_not_free() -> None:
    import socket

    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert not port_is_free(port)
    assert port_is_free(port)

"""Where the CLI looks for the services and the admin key: flags > environment > .tollgate/ > defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tollgate_cli.config import DEFAULT_URLS, Flags, find_home, resolve
from tollgate_cli.errors import CliError


def make_home(directory: Path, auth_port: int = 9181, key: str = "tga_from_home") -> Path:
    home = directory / ".tollgate"
    home.mkdir(parents=True)
    stack = {
        "auth_url": f"http://127.0.0.1:{auth_port}",
        "metering_url": "http://127.0.0.1:9182",
        "keyvault_url": "http://127.0.0.1:9183",
        "proxy_url": "http://127.0.0.1:9180",
    }
    (home / "stack.json").write_text(json.dumps(stack))
    (home / "admin-key").write_text(key + "\n")
    return home


def test_without_anything_the_default_localhost_ports_are_used_and_no_admin_key(tmp_path: Path) -> None:
    config = resolve(Flags(), {}, tmp_path)
    assert config.urls == DEFAULT_URLS
    with pytest.raises(CliError, match="no admin key"):
        config.admin_key()


def test_the_embedded_stack_is_found_in_a_parent_directory(tmp_path: Path) -> None:
    make_home(tmp_path)
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    config = resolve(Flags(), {}, nested)
    assert config.url("auth") == "http://127.0.0.1:9181"
    assert config.url("proxy") == "http://127.0.0.1:9180"
    assert config.admin_key() == "tga_from_home"
    assert find_home(nested) == tmp_path / ".tollgate"


def test_a_stopped_embedded_stack_still_gives_its_admin_key_with_default_ports(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    (home / "stack.json").unlink()
    config = resolve(Flags(), {}, tmp_path)
    assert config.urls == DEFAULT_URLS
    assert config.admin_key() == "tga_from_home"


def test_tollgate_home_wins_over_the_directory_found_from_cwd(tmp_path: Path) -> None:
    make_home(tmp_path / "here", auth_port=9181, key="tga_here")
    elsewhere = make_home(tmp_path / "elsewhere", auth_port=9281, key="tga_elsewhere")
    config = resolve(Flags(), {"TOLLGATE_HOME": str(elsewhere)}, tmp_path / "here")
    assert config.url("auth") == "http://127.0.0.1:9281"
    assert config.admin_key() == "tga_elsewhere"


def test_environment_wins_over_the_stack_and_flags_win_over_the_environment(tmp_path: Path) -> None:
    make_home(tmp_path)
    key_file = tmp_path / "flag-key"
    key_file.write_text("tga_from_flag")
    env = {"TOLLGATE_AUTH_URL": "http://auth.env:1/", "TOLLGATE_ADMIN_KEY": "tga_from_env"}

    from_env = resolve(Flags(), env, tmp_path)
    assert from_env.url("auth") == "http://auth.env:1"
    assert from_env.url("metering") == "http://127.0.0.1:9182"
    assert from_env.admin_key() == "tga_from_env"

    from_flags = resolve(Flags(auth_url="http://auth.flag:2", admin_key_file=key_file), env, tmp_path)
    assert from_flags.url("auth") == "http://auth.flag:2"
    assert from_flags.admin_key() == "tga_from_flag"


def test_the_admin_key_itself_wins_over_a_key_file_in_the_environment(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("tga_file")
    env = {"TOLLGATE_ADMIN_KEY": "tga_value", "TOLLGATE_ADMIN_KEY_FILE": str(key_file)}
    assert resolve(Flags(), env, tmp_path).admin_key() == "tga_value"
    assert resolve(Flags(), {"TOLLGATE_ADMIN_KEY_FILE": str(key_file)}, tmp_path).admin_key() == "tga_file"


def test_a_missing_key_file_is_named_in_the_error_without_any_key(tmp_path: Path) -> None:
    config = resolve(Flags(admin_key_file=tmp_path / "nope"), {}, tmp_path)
    with pytest.raises(CliError, match="nope"):
        config.admin_key()


def test_the_admin_key_never_shows_in_the_config_repr(tmp_path: Path) -> None:
    config = resolve(Flags(), {"TOLLGATE_ADMIN_KEY": "tga_secret_value"}, tmp_path)
    assert "tga_secret_value" not in repr(config)

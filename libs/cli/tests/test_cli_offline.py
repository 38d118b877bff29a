"""Behaviour that needs no running service: usage errors, unreachable services, a missing admin key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tollgate_cli.app import app
from tollgate_servicekit.tcp import free_port

runner = CliRunner()


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """An environment pointing every service at a port nothing listens on, from a directory with no stack."""
    monkeypatch.chdir(tmp_path)
    for var in ("TOLLGATE_HOME", "TOLLGATE_ADMIN_KEY", "TOLLGATE_ADMIN_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    port = free_port()
    return {
        "TOLLGATE_AUTH_URL": f"http://127.0.0.1:{port}",
        "TOLLGATE_METERING_URL": f"http://127.0.0.1:{port}",
        "TOLLGATE_KEYVAULT_URL": f"http://127.0.0.1:{port}",
        "TOLLGATE_PROXY_URL": f"http://127.0.0.1:{port}",
    }


def test_a_refused_connection_is_one_line_on_stderr_and_exit_code_1(nowhere: dict[str, str]) -> None:
    result = runner.invoke(app, ["grant", "list", "--json"], env=nowhere | {"TOLLGATE_ADMIN_KEY": "tga_x"})
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "cannot reach auth" in result.stderr
    assert "connection refused" in result.stderr
    assert "Traceback" not in result.output


def test_a_missing_admin_key_is_one_line_naming_where_to_put_it(nowhere: dict[str, str]) -> None:
    result = runner.invoke(app, ["usage", "grt_x"], env=nowhere)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "no admin key" in result.stderr
    assert "TOLLGATE_ADMIN_KEY" in result.stderr


def test_a_bad_duration_is_a_usage_error(nowhere: dict[str, str]) -> None:
    args = ["grant", "create", "--provider", "openai", "--model", "m", "--expires-in", "soon"]
    result = runner.invoke(app, args, env=nowhere | {"TOLLGATE_ADMIN_KEY": "tga_x"})
    assert result.exit_code == 2
    assert "--expires-in" in result.stderr
    assert "30d" in result.stderr


def test_a_bad_budget_is_a_usage_error(nowhere: dict[str, str]) -> None:
    args = ["grant", "create", "--provider", "openai", "--model", "m", "--budget-usd", "0.0000001"]
    result = runner.invoke(app, args, env=nowhere | {"TOLLGATE_ADMIN_KEY": "tga_x"})
    assert result.exit_code == 2
    assert "--budget-usd" in result.stderr


def test_a_grant_needs_a_model(nowhere: dict[str, str]) -> None:
    result = runner.invoke(app, ["grant", "create", "--provider", "openai"], env=nowhere)
    assert result.exit_code == 2
    assert "--model" in result.stderr


def test_a_credential_key_is_never_taken_from_the_command_line(nowhere: dict[str, str]) -> None:
    result = runner.invoke(app, ["credential", "add", "--provider", "openai", "sk-in-argv"], env=nowhere)
    assert result.exit_code == 2

    result = runner.invoke(app, ["credential", "add", "--provider", "openai"], env=nowhere)
    assert result.exit_code == 2
    assert "--api-key-stdin" in result.stderr


def test_an_empty_stdin_is_a_usage_error(nowhere: dict[str, str]) -> None:
    args = ["credential", "add", "--provider", "openai", "--api-key-stdin", "--tenant", "tnt_x"]
    result = runner.invoke(app, args, env=nowhere | {"TOLLGATE_ADMIN_KEY": "tga_x"}, input="\n")
    assert result.exit_code == 2
    assert "no API key on stdin" in result.stderr


def test_status_reports_every_service_unreachable_and_exits_1(nowhere: dict[str, str]) -> None:
    result = runner.invoke(app, ["status", "--json"], env=nowhere)
    assert result.exit_code == 1
    assert '"unreachable"' in result.stdout
    for service in ("auth", "metering", "keyvault", "proxy"):
        assert f'"{service}"' in result.stdout

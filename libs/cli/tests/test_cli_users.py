"""`tollgate user create|list`: owner accounts, the password from stdin only (offline checks, then a real stack)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tollgate_cli.app import app
from tollgate_devstack.stack import Stack

runner = CliRunner()

PASSWORD = "correct horse battery staple"


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Auth at an address nothing answers: a command that got as far as calling it would say "cannot reach"."""
    monkeypatch.chdir(tmp_path)
    for var in ("TOLLGATE_HOME", "TOLLGATE_ADMIN_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    return {"TOLLGATE_AUTH_URL": "http://127.0.0.1:9", "TOLLGATE_ADMIN_KEY": "tga_x"}


def test_the_password_is_never_taken_from_the_command_line(nowhere: dict[str, str]) -> None:
    result = runner.invoke(app, ["user", "create", "--email", "a@example.com"], env=nowhere, input=PASSWORD)
    assert result.exit_code == 2
    assert "--password-stdin" in result.stderr
    assert "cannot reach" not in result.output


def test_an_empty_stdin_is_a_usage_error(nowhere: dict[str, str]) -> None:
    result = runner.invoke(
        app, ["user", "create", "--email", "a@example.com", "--password-stdin"], env=nowhere, input=""
    )
    assert result.exit_code == 2
    assert "no password on stdin" in result.stderr


def test_an_unknown_role_is_a_usage_error_before_any_call(nowhere: dict[str, str]) -> None:
    args = ["user", "create", "--email", "a@example.com", "--password-stdin", "--role", "root"]
    result = runner.invoke(app, args, env=nowhere, input=PASSWORD)
    assert result.exit_code == 2
    assert "admin, developer, user, read-only" in result.stderr


def invoke(stack: Stack, *args: str, stdin: str | None = None):
    env: dict[str, str | None] = {
        "TOLLGATE_HOME": str(stack.home),
        "TOLLGATE_ADMIN_KEY": None,
        "TOLLGATE_ADMIN_KEY_FILE": None,
        "TOLLGATE_AUTH_URL": None,
    }
    return runner.invoke(app, list(args), env=env, input=stdin)


@pytest.mark.integration
def test_a_user_is_created_once_listed_and_its_password_never_printed(cli_stack: Stack) -> None:
    args = ("user", "create", "--email", "Owner@Example.com", "--password-stdin", "--role", "admin", "--json")
    created = invoke(cli_stack, *args, stdin=PASSWORD + "\n")
    assert created.exit_code == 0, created.output
    user = json.loads(created.stdout)
    assert user["id"].startswith("usr_")
    assert (user["email"], user["role"], user["tenant_id"]) == ("owner@example.com", "admin", cli_stack.tenant_id)
    assert PASSWORD not in created.output

    again = invoke(cli_stack, *args, stdin=PASSWORD + "\n")
    assert again.exit_code == 1
    assert again.stderr.startswith("tollgate: error: auth: user_exists:") and "(HTTP 409)" in again.stderr

    weak = invoke(cli_stack, "user", "create", "--email", "b@example.com", "--password-stdin", stdin="short\n")
    assert weak.exit_code == 1 and "at least 12 characters" in weak.stderr and "short" not in weak.stderr.split(":")[-1]

    tenant = invoke(
        cli_stack, "user", "create", "--email", "c@example.com", "--password-stdin", "--tenant", cli_stack.tenant_id,
        "--json", stdin=PASSWORD,
    )  # fmt: skip
    assert tenant.exit_code == 0, tenant.output

    listed = invoke(cli_stack, "user", "list", "--json")
    assert listed.exit_code == 0, listed.output
    emails = [u["email"] for u in json.loads(listed.stdout)["data"]]
    assert emails == ["owner@example.com", "c@example.com"]
    table = invoke(cli_stack, "user", "list")
    assert "owner@example.com" in table.stdout and "password" not in table.stdout.lower()

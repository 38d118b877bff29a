"""`tollgate signing-key rotate|list` against a real stack: the new key signs, the old one is retiring."""

from __future__ import annotations

import json

import jwt
import pytest
from typer.testing import CliRunner

from tollgate_cli.app import app
from tollgate_devstack.stack import Stack

runner = CliRunner()


def invoke(stack: Stack, *args: str):
    env: dict[str, str | None] = {
        "TOLLGATE_HOME": str(stack.home),
        "TOLLGATE_ADMIN_KEY": None,
        "TOLLGATE_ADMIN_KEY_FILE": None,
        "TOLLGATE_AUTH_URL": None,
    }
    return runner.invoke(app, list(args), env=env)


@pytest.mark.integration
def test_rotate_prints_the_new_key_and_the_old_one_retiring(cli_stack: Stack) -> None:
    before = invoke(cli_stack, "signing-key", "list", "--json")
    assert before.exit_code == 0, before.output
    old = [k["kid"] for k in json.loads(before.stdout)["data"] if k["status"] == "active"]
    assert len(old) == 1

    rotated = invoke(cli_stack, "signing-key", "rotate", "--json")
    assert rotated.exit_code == 0, rotated.output
    answer = json.loads(rotated.stdout)
    statuses = {k["kid"]: k["status"] for k in answer["data"]}
    assert statuses[answer["kid"]] == "active"
    assert statuses[old[0]] == "retiring"
    assert "private" not in rotated.stdout.lower()

    grant = invoke(cli_stack, "grant", "create", "--provider", "openai", "--model", "gpt-4o-mini", "--json")
    assert grant.exit_code == 0, grant.output
    minted = invoke(cli_stack, "token", "mint", json.loads(grant.stdout)["id"], "--json")
    assert minted.exit_code == 0, minted.output
    assert jwt.get_unverified_header(json.loads(minted.stdout)["access_token"])["kid"] == answer["kid"]

    table = invoke(cli_stack, "signing-key", "list")
    assert table.exit_code == 0 and "retiring" in table.stdout and answer["kid"][:8] in table.stdout

"""The CLI against a running stack: JSON answers, tables, and errors as one line with the right exit code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from tollgate_cli.app import app
from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import eventually_sync

pytestmark = pytest.mark.integration

runner = CliRunner()


def invoke(stack: Stack, *args: str, stdin: str | None = None, **env: str | None) -> Result:
    base: dict[str, str | None] = {
        "TOLLGATE_HOME": str(stack.home),
        "TOLLGATE_ADMIN_KEY": None,
        "TOLLGATE_ADMIN_KEY_FILE": None,
        "TOLLGATE_AUTH_URL": None,
        "TOLLGATE_METERING_URL": None,
        "TOLLGATE_KEYVAULT_URL": None,
        "TOLLGATE_PROXY_URL": None,
    }
    return runner.invoke(app, list(args), env=base | env, input=stdin)


def ok_json(stack: Stack, *args: str, stdin: str | None = None) -> Any:
    result = invoke(stack, *args, "--json", stdin=stdin)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_grant_is_created_with_every_limit_and_shown_listed_and_revoked(cli_stack: Stack) -> None:
    grant = ok_json(
        cli_stack,
        "grant", "create", "--provider", "openai", "--model", "gpt-4o-mini", "--model", "gpt-4.1-*",
        "--capability", "chat", "--capability", "embeddings", "--budget-usd", "2.5", "--max-requests", "100",
        "--rpm", "60", "--tpm", "100000", "--expires-in", "30d", "--app", "notes-summariser",
    )  # fmt: skip
    assert grant["id"].startswith("grt_")
    assert grant["status"] == "active"
    assert grant["models"] == ["gpt-4o-mini", "gpt-4.1-*"]
    assert sorted(grant["capabilities"]) == ["chat", "embeddings"]
    assert grant["budget_micro_usd"] == 2_500_000
    assert (grant["max_requests"], grant["rpm"], grant["tpm"]) == (100, 60, 100_000)
    assert grant["app_name"] == "notes-summariser"
    assert grant["tenant_id"] == cli_stack.tenant_id
    assert grant["expires_at"] is not None

    assert (grant["budget_period"], grant["parent_grant_id"]) == ("total", None)

    assert ok_json(cli_stack, "grant", "show", grant["id"])["id"] == grant["id"]
    shown = invoke(cli_stack, "grant", "show", grant["id"])
    assert shown.exit_code == 0, shown.output
    rows = {line.strip("│ ").split()[0]: line for line in shown.stdout.splitlines() if line.startswith("│")}
    assert "total" in rows["budget_period"] and "-" in rows["parent_grant_id"]
    assert grant["id"] in {g["id"] for g in ok_json(cli_stack, "grant", "list")["data"]}

    revoked = ok_json(cli_stack, "grant", "revoke", grant["id"])
    assert revoked["status"] == "revoked"
    assert revoked["revoked_at"] is not None


def test_a_token_is_minted_with_the_lifetime_asked_for(cli_stack: Stack) -> None:
    grant = ok_json(cli_stack, "grant", "create", "--provider", "openai", "--model", "gpt-4o-mini")
    token = ok_json(cli_stack, "token", "mint", grant["id"], "--ttl", "5m")
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 300
    assert token["access_token"].count(".") == 2


def test_a_new_grant_has_zero_usage(cli_stack: Stack) -> None:
    grant = ok_json(cli_stack, "grant", "create", "--provider", "anthropic", "--model", "claude-*", "--budget-usd", "1")
    # metering learns of the grant from the bus, a moment after auth answered
    eventually_sync(lambda: invoke(cli_stack, "usage", grant["id"], "--json").exit_code == 0, what="the grant known")
    result = invoke(cli_stack, "usage", grant["id"], "--json")
    assert result.exit_code == 0, result.output
    usage = json.loads(result.stdout)
    assert usage["requests"] == 0
    assert (usage["input_tokens"], usage["output_tokens"]) == (0, 0)
    assert usage["cost_usd"] == "0.000000"


def test_tables_are_printed_without_json(cli_stack: Stack) -> None:
    result = invoke(cli_stack, "grant", "create", "--provider", "openai", "--model", "gpt-4o-mini")
    assert result.exit_code == 0, result.output
    assert "Grant created" in result.stdout
    assert "active" in result.stdout
    listed = invoke(cli_stack, "grant", "list")
    assert listed.exit_code == 0
    assert "Grants" in listed.stdout


def test_an_unknown_grant_is_one_line_with_the_service_error_code(cli_stack: Stack) -> None:
    result = invoke(cli_stack, "grant", "show", "grt_doesnotexist")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "grant_not_found" in result.stderr
    assert "404" in result.stderr


def test_a_wrong_admin_key_is_refused_in_one_line_that_does_not_show_it(cli_stack: Stack) -> None:
    result = invoke(cli_stack, "grant", "list", TOLLGATE_ADMIN_KEY="tga_wrong_key_value")
    assert result.exit_code == 1
    assert "401" in result.stderr
    assert result.stderr.count("\n") == 1
    assert "tga_wrong_key_value" not in result.output


def test_a_base_url_the_egress_guard_refuses_is_one_line_and_stores_nothing(cli_stack: Stack) -> None:
    key = "sk-cli-refused-0123456789abcdefQRST"
    args = ("credential", "add", "--provider", "sneaky", "--api-key-stdin", "--base-url")
    for url in ("http://127.1:9/steal", "https://169.254.169.254/latest"):
        result = invoke(cli_stack, *args, url, stdin=key + "\n")
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("tollgate: error: keyvault: invalid_request: base_url refused: ")
        assert result.stderr.count("\n") == 1 and "(HTTP 422)" in result.stderr
        assert url not in result.output and key not in result.output
    listed = json.loads(invoke(cli_stack, "credential", "list", "--json").stdout)["data"]
    assert "sneaky" not in {c["provider"] for c in listed}


def test_a_credential_for_a_tenant_auth_does_not_know_is_one_line_and_stores_nothing(cli_stack: Stack) -> None:
    key = "sk-cli-no-tenant-0123456789abcdefLMNO"
    args = ("credential", "add", "--provider", "openai", "--api-key-stdin", "--tenant", "tnt_nobody")
    result = invoke(cli_stack, *args, stdin=key + "\n")
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("tollgate: error: keyvault: tenant_not_found: tenant tnt_nobody not found")
    assert result.stderr.count("\n") == 1 and "(HTTP 404)" in result.stderr
    assert key not in result.output
    listed = json.loads(invoke(cli_stack, "credential", "list", "--json").stdout)["data"]
    assert "tnt_nobody" not in {c["tenant_id"] for c in listed}


def test_a_credential_is_added_from_stdin_and_listed_without_its_key(cli_stack: Stack) -> None:
    key = "sk-cli-test-0123456789abcdefWXYZ"
    added = ok_json(
        cli_stack,
        # The stack's keyvault allow-lists its mock provider, and no other loopback address.
        "credential", "add", "--provider", "cliprovider", "--api-key-stdin", "--base-url", cli_stack.mock_url,
        stdin=key + "\n",
    )  # fmt: skip
    assert added["provider"] == "cliprovider"
    assert added["last4"] == "WXYZ"
    assert added["tenant_id"] == cli_stack.tenant_id
    assert key not in json.dumps(added)

    result = invoke(cli_stack, "credential", "list", "--json")
    assert key not in result.output
    providers = {c["provider"] for c in json.loads(result.stdout)["data"]}
    assert {"openai", "anthropic", "cliprovider"} <= providers


def test_status_shows_every_service_ready(cli_stack: Stack) -> None:
    report = ok_json(cli_stack, "status")
    assert set(report) == {"auth", "metering", "keyvault", "proxy"}
    assert all(service["ready"] for service in report.values()), report
    assert report["proxy"]["url"] == cli_stack.proxy_url

"""`tollgate tenant template show|set`: bad options are usage errors before any call; then against a real stack,
a template set is shown back, and a value auth refuses is one line and a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tollgate_cli.app import app
from tollgate_devstack.stack import Stack

runner = CliRunner()


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Auth at an address nothing answers: a command that got as far as calling it would say "cannot reach"."""
    monkeypatch.chdir(tmp_path)
    for var in ("TOLLGATE_HOME", "TOLLGATE_ADMIN_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    return {"TOLLGATE_AUTH_URL": "http://127.0.0.1:9", "TOLLGATE_ADMIN_KEY": "tga_x"}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--budget-usd", "1", "--period", "week"], "total, day, month"),
        (["--period", "day"], "needs --budget-usd"),
        (["--expires-in", "soon"], "not a duration"),
        (["--budget-usd", "-1"], "non-negative"),
    ],
)
def test_a_bad_option_is_a_usage_error_before_any_call(nowhere: dict[str, str], args: list[str], says: str) -> None:
    result = runner.invoke(app, ["tenant", "template", "set", "tnt_x", *args], env=nowhere)
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert "cannot reach" not in result.output


def invoke(stack: Stack, *args: str):
    env: dict[str, str | None] = {
        "TOLLGATE_HOME": str(stack.home),
        "TOLLGATE_ADMIN_KEY": None,
        "TOLLGATE_ADMIN_KEY_FILE": None,
        "TOLLGATE_AUTH_URL": None,
    }
    return runner.invoke(app, list(args), env=env)


@pytest.mark.integration
def test_a_template_is_set_and_shown_back_and_a_refused_value_is_one_line(cli_stack: Stack) -> None:
    tenant = cli_stack.tenant_id
    before = invoke(cli_stack, "tenant", "template", "show", tenant, "--json")
    assert before.exit_code == 0, before.output
    assert before.stdout and json.loads(before.stdout)["is_default"] is True

    args = ["--provider", "openai", "--model", "gpt-4o-mini", "--model", "gpt-4.1-*", "--budget-usd", "2.5"]
    args += ["--period", "month", "--max-requests", "50", "--expires-in", "7d", "--json"]
    set_ = invoke(cli_stack, "tenant", "template", "set", tenant, *args)
    assert set_.exit_code == 0, set_.output
    shown = json.loads(invoke(cli_stack, "tenant", "template", "show", tenant, "--json").stdout)
    assert shown == json.loads(set_.stdout)
    assert shown["is_default"] is False
    assert (shown["provider"], shown["models"]) == ("openai", ["gpt-4o-mini", "gpt-4.1-*"])
    assert (shown["budget_usd"], shown["budget_period"]) == ("2.500000", "month")
    assert (shown["max_requests"], shown["expires_in_seconds"]) == (50, 7 * 86400)
    table = invoke(cli_stack, "tenant", "template", "show", tenant)
    assert table.exit_code == 0 and "7d" in table.stdout

    refused = invoke(cli_stack, "tenant", "template", "set", tenant, "--provider", "Open AI")
    assert refused.exit_code != 0
    assert "provider" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    unknown = invoke(cli_stack, "tenant", "template", "show", "tnt_nobody")
    assert unknown.exit_code != 0 and "tnt_nobody" in unknown.stderr

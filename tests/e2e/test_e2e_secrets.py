"""No secret in any log file the stack wrote, nor in anything the CLI printed (beyond the token it was asked for).

Runs after the other e2e tests of the session (same stack, files sorted by
name) and makes a full round of its own first, so it finds leaks even alone.
"""

from __future__ import annotations

import openai
import pytest

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import Cli, Sdk, find_secrets, read_texts

pytestmark = pytest.mark.e2e


def test_no_secret_appears_in_any_log_or_cli_output(
    e2e_stack: Stack, sdk: Sdk, cli: Cli, handed_out: dict[str, str]
) -> None:
    grant = cli.json("grant", "create", "--provider", "openai", "--model", "gpt-4o-mini")
    token = cli.json("token", "mint", grant["id"])["access_token"]
    handed_out[f"token for {grant['id']}"] = token
    sdk.openai(token).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.AuthenticationError):
        sdk.openai(token[:-4] + "AAAA").models.list()
    cli.usage_once(grant["id"])
    cli.json("grant", "revoke", grant["id"])

    secrets = {"admin key": e2e_stack.admin_key, "provider key": e2e_stack.mock_key, **handed_out}
    logs = read_texts([*e2e_stack.log_files(), e2e_stack.paths.stack_json])
    assert len(e2e_stack.log_files()) >= 6  # nats, auth, keyvault, metering, proxy, mock
    assert find_secrets(logs, secrets) == []

    outputs: dict[str, str] = {}
    for i, run in enumerate(cli.runs):
        where = f"tollgate {' '.join(run.args)} (run {i})"
        outputs[f"stderr of {where}"] = run.stderr
        # A mint prints the token it was asked for; nothing else may print one.
        if run.args[:2] != ("token", "mint"):
            outputs[f"stdout of {where}"] = run.stdout
    assert len(cli.runs) >= 4  # at least this test's own: create, mint, usage, revoke
    assert find_secrets(outputs, secrets) == []

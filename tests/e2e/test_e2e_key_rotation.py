"""Signing-key rotation end to end: `tollgate signing-key rotate`, and the proxy (following the JWKS on the bus)
takes tokens signed by the old key and by the new one, each by its `kid`."""

from __future__ import annotations

import jwt
import pytest

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import Cli, Sdk

pytestmark = pytest.mark.e2e

PROMPT = [{"role": "user", "content": "Say hello"}]


def test_tokens_of_the_old_and_the_new_key_both_work_at_the_proxy(
    e2e_stack: Stack, sdk: Sdk, cli: Cli, handed_out: dict[str, str]
) -> None:
    grant = cli.json("grant", "create", "--provider", "openai", "--model", "gpt-4o-mini", "--expires-in", "1h")
    before = cli.json("token", "mint", grant["id"], "--ttl", "15m")["access_token"]
    handed_out["token before rotation"] = before
    assert sdk.openai(before).chat.completions.create(model="gpt-4o-mini", messages=PROMPT).choices

    rotated = cli.json("signing-key", "rotate")
    old_kid, new_kid = jwt.get_unverified_header(before)["kid"], rotated["kid"]
    assert new_kid != old_kid
    assert {k["kid"]: k["status"] for k in rotated["data"]}[old_kid] == "retiring"

    after = cli.json("token", "mint", grant["id"], "--ttl", "15m")["access_token"]
    handed_out["token after rotation"] = after
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    # The proxy learnt the new key from the bus before auth signed with it; the old key is still in its overlap.
    for token in (after, before):
        assert sdk.openai(token).chat.completions.create(model="gpt-4o-mini", messages=PROMPT).choices

"""Ready means ready: once the proxy's `/readyz` answers 200, the first call of a script succeeds, first time.

A script that starts `make run` and waits for readiness looks at the proxy alone (it is the one URL the SDKs
use), then makes a grant, mints a token and calls: no retry, no sleep, no other health check in between.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from tollgate_devstack.testing import Cli, DevRun, eventually_sync

pytestmark = pytest.mark.e2e


def proxy_readyz(dev: DevRun) -> int | None:
    """The status of the proxy's `/readyz`, None while nothing answers."""
    try:
        return httpx.get(f"{dev.url('proxy')}/readyz", timeout=2.0).status_code
    except httpx.HTTPError:
        return None


def active_providers(dev: DevRun) -> set[str]:
    """The providers with an active credential for the default tenant, asked of keyvault with the admin key."""
    headers = {"Authorization": f"Bearer {(dev.home / 'admin-key').read_text().strip()}"}
    with httpx.Client(headers=headers, timeout=10.0) as admin:
        tenant = admin.get(f"{dev.url('auth')}/v1/tenants").json()["data"][0]["id"]
        listed = admin.get(f"{dev.url('keyvault')}/v1/credentials", params={"tenant_id": tenant}).json()["data"]
    return {c["provider"] for c in listed if c["status"] == "active"}


def test_the_first_sdk_call_after_the_proxy_says_ready_succeeds(tmp_path: Path) -> None:
    with DevRun.start(tmp_path) as dev:
        eventually_sync(lambda: proxy_readyz(dev) == 200 or dev.process.poll() is not None, timeout=180, what="/readyz")
        assert proxy_readyz(dev) == 200, f"the proxy never became ready ({dev.report()})"
        # What a first call needs is in place at this very moment, not a little later:
        # the CLI of a script run from this directory finds the stack through stack.json,
        assert (dev.home / "stack.json").is_file()
        # and the mock provider is registered for the tenant (the proxy has hydrated from it).
        assert active_providers(dev) >= {"openai", "anthropic"}

        cli = Cli(cwd=tmp_path, extra_env=dev.cli_env())
        grant = cli.json("grant", "create", "--provider", "openai", "--model", "gpt-4o-mini")
        token = cli.json("token", "mint", grant["id"], "--ttl", "15m")["access_token"]
        with openai.OpenAI(base_url=f"{dev.url('proxy')}/v1", api_key=token, max_retries=0) as client:
            reply = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}]
            )
        assert reply.choices[0].message.content
        assert reply.usage is not None and reply.usage.total_tokens > 0
        assert dev.interrupt() == 0, dev.report()

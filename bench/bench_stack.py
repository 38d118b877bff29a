"""The whole Tollgate stack for the proxy point: started with `tollgate_devstack`, plus a grant and its token.

The stack (nats-server, auth, keyvault, metering, proxy, mock provider; SQLite) registers the mock provider
as the tenant's `openai` credential; here a grant for `gpt-4o-mini` is made over auth's admin API and a
delegated token minted for it. The proxy learns the grant from the bus, so the first calls may be refused
until it has; `start_stack` waits (bounded) until a call goes through.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_wrk import CHAT_BODY

TOKEN_TTL_SECONDS = 3600
MODEL = "gpt-4o-mini"


@dataclass
class RunningStack:
    proxy_url: str
    mock_url: str
    mock_key: str
    token: str
    stack: Any

    def pids(self) -> dict[str, int]:
        """The stack's processes by name (proxy, auth, keyvault, metering, mock, nats)."""
        return {name: int(pid) for name, pid in self.stack.describe()["pids"].items() if pid is not None}

    def stop(self) -> None:
        self.stack.stop()


def _call(method: str, url: str, key: str, body: object | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - our own loopback URL
    request.add_header("Authorization", f"Bearer {key}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read() or b"null")
        except ValueError:
            detail = None
        return exc.code, detail


def _checked(what: str, status: int, answer: Any) -> Any:
    if status // 100 != 2:
        raise RuntimeError(f"{what} failed with HTTP {status}: {answer}")
    return answer


def mint_token(auth_url: str, admin_key: str, tenant_id: str) -> str:
    """A delegated token for a new grant on `openai` / `gpt-4o-mini` with no budget or rate limit."""
    grant = _checked(
        "creating the grant",
        *_call(
            "POST",
            f"{auth_url}/v1/grants",
            admin_key,
            {"tenant_id": tenant_id, "app_name": "bench", "provider": "openai", "models": [MODEL]},
        ),
    )
    token = _checked(
        "minting the token",
        *_call("POST", f"{auth_url}/v1/grants/{grant['id']}/tokens", admin_key, {"ttl_seconds": TOKEN_TTL_SECONDS}),
    )
    return str(token["access_token"])


def wait_until_accepted(proxy_url: str, token: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    status, answer = 0, None
    while time.monotonic() < deadline:
        status, answer = _call("POST", f"{proxy_url}/v1/chat/completions", token, json.loads(CHAT_BODY))
        if status == 200:
            return
        time.sleep(0.1)
    raise RuntimeError(f"the proxy did not accept the benchmark token within {timeout:.0f}s: HTTP {status} {answer}")


def start_stack(home: Path) -> RunningStack:
    """Start the stack under `home`, make a grant and a token; everything is stopped again if any step fails."""
    from tollgate_devstack.stack import Stack  # the launcher of the whole system

    stack = Stack(home, log_level="WARNING")
    stack.start()
    try:
        token = mint_token(stack.auth_url, stack.admin_key, stack.tenant_id)
        wait_until_accepted(stack.proxy_url, token)
        return RunningStack(stack.proxy_url, stack.mock_url, stack.mock_key, token, stack)
    except BaseException:
        stack.stop()
        raise

"""The device flow (RFC 8628) against the embedded stack, the owner deciding with `tollgate request …` run as a
subprocess: the device asks and polls over plain HTTP, `tollgate request approve` narrows and approves, the
device's token then works with the official `openai` SDK at the proxy — within the narrowing only."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
import pytest

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import Cli, Sdk, eventually_sync

pytestmark = pytest.mark.integration

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
WAITING = ("authorization_pending", "slow_down")
DETAILS = [
    {
        "type": "tollgate_ai_access",
        "provider": "openai",
        "models": ["gpt-4o-mini", "gpt-4.1-*"],
        "budget": {"amount": "5.00", "currency": "USD", "period": "total"},
        "max_requests": 100,
        "reason": "Nightly build summaries",
    }
]


@dataclass
class Device:
    """A CLI-like OAuth device client over plain HTTP, polling as RFC 8628 §3.5 says: never before its interval,
    five seconds more after `slow_down`."""

    http: httpx.Client
    client_id: str
    started: dict[str, Any] = field(default_factory=dict)
    interval: float = 5.0
    last_poll: float | None = None
    answers: list[str] = field(default_factory=list)

    @classmethod
    def register(cls, http: httpx.Client, name: str) -> Device:
        body = {"client_name": name, "grant_types": [DEVICE_GRANT], "token_endpoint_auth_method": "none"}
        answer = http.post("/oauth/register", json=body)
        assert answer.status_code == 201, answer.text
        return cls(http, answer.json()["client_id"])

    def start(self, details: list[dict[str, Any]] = DETAILS) -> dict[str, Any]:
        data = {"client_id": self.client_id, "authorization_details": json.dumps(details)}
        answer = self.http.post("/oauth/device_authorization", data=data)
        assert answer.status_code == 200, answer.text
        self.started = answer.json()
        self.interval = float(self.started["interval"])
        return self.started

    def poll(self) -> httpx.Response:
        self.last_poll = time.monotonic()
        data = {"grant_type": DEVICE_GRANT, "device_code": self.started["device_code"], "client_id": self.client_id}
        answer = self.http.post("/oauth/token", data=data)
        if answer.status_code == 400:
            self.answers.append(answer.json()["error"])
            if answer.json()["error"] == "slow_down":
                self.interval += 5
        return answer

    def poll_when_due(self) -> httpx.Response | None:
        """A poll if the interval is over, else None (for `eventually_sync`, which calls this often)."""
        if self.last_poll is not None and time.monotonic() - self.last_poll < self.interval:
            return None
        return self.poll()

    def outcome(self, timeout: float = 40.0) -> httpx.Response:
        """Poll until the answer is no longer `authorization_pending`/`slow_down`."""

        def decided() -> httpx.Response | None:
            answer = self.poll_when_due()
            waiting = answer is not None and answer.status_code == 400 and self.answers[-1] in WAITING
            return None if answer is None or waiting else answer

        return eventually_sync(decided, timeout=timeout, interval=0.25, what="the device request decided")


@pytest.fixture
def auth_http(cli_stack: Stack) -> Any:
    with httpx.Client(base_url=cli_stack.auth_url, timeout=30.0) as http:
        yield http


@pytest.fixture
def cli(cli_stack: Stack) -> Cli:
    return Cli(home=cli_stack.home)


def test_the_device_flow_approved_with_tollgate_request_approve_then_the_openai_sdk(
    cli_stack: Stack, auth_http: httpx.Client, cli: Cli
) -> None:
    device = Device.register(auth_http, "Build bot")
    started = device.start()
    assert started["verification_uri"] == f"{cli_stack.auth_url}/device"
    assert started["verification_uri_complete"] == f"{cli_stack.auth_url}/device?user_code={started['user_code']}"
    assert (started["expires_in"], started["interval"]) == (600, 5)
    assert device.poll().json()["error"] == "authorization_pending"

    pending = {r["user_code"]: r for r in cli.json("request", "list")["data"]}
    listed = pending[started["user_code"]]
    assert listed["client_name"] == "Build bot" and listed["id"].startswith("req_")
    assert listed["authorization_details"][0]["models"] == ["gpt-4o-mini", "gpt-4.1-*"]
    assert listed["authorization_details"][0]["reason"] == "Nightly build summaries"

    grant = cli.json(
        "request", "approve", started["user_code"].lower(),
        "--budget-usd", "1.25", "--model", "gpt-4o-mini", "--max-requests", "1", "--expires-in", "1d",
    )  # fmt: skip
    assert grant["id"].startswith("grt_") and grant["status"] == "active"
    assert (grant["budget_usd"], grant["models"], grant["max_requests"]) == ("1.250000", ["gpt-4o-mini"], 1)
    assert grant["expires_at"] is not None and grant["app_name"] == "Build bot"
    assert started["user_code"] not in {r["user_code"] for r in cli.json("request", "list")["data"]}

    answer = device.outcome()
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["grant_id"] == grant["id"]
    assert token["authorization_details"][0]["models"] == ["gpt-4o-mini"]
    reused = eventually_sync(device.poll_when_due, timeout=20, interval=0.25, what="the next allowed poll")
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")

    with Sdk(cli_stack.proxy_url) as sdk:
        client = sdk.openai(token["access_token"])
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])
        assert reply.choices[0].message.content
        # The owner narrowed the models and the request count: the proxy holds the token to both.
        with pytest.raises(openai.PermissionDeniedError):
            client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": "Hi"}])
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}])


def test_a_request_denied_with_tollgate_request_deny_is_access_denied(auth_http: httpx.Client, cli: Cli) -> None:
    device = Device.register(auth_http, "Sketchy tool")
    started = device.start()
    request_id = {r["user_code"]: r["id"] for r in cli.json("request", "list")["data"]}[started["user_code"]]
    denied = cli.json("request", "deny", request_id)
    assert (denied["id"], denied["status"]) == (request_id, "denied")
    answer = device.outcome()
    assert (answer.status_code, answer.json()["error"]) == (400, "access_denied")

    again = cli.run("request", "approve", request_id, "--json")
    assert again.returncode != 0 and again.stdout == ""
    assert len(again.stderr.strip().splitlines()) == 1 and "already denied" in again.stderr


def test_request_errors_are_one_line_and_non_zero(auth_http: httpx.Client, cli: Cli) -> None:
    unknown = cli.run("request", "approve", "BCDF-GHJK", "--json")
    assert unknown.returncode != 0 and unknown.stdout == ""
    assert len(unknown.stderr.strip().splitlines()) == 1 and "no device request" in unknown.stderr

    device = Device.register(auth_http, "Greedy tool")
    started = device.start()
    wider = cli.run("request", "approve", started["user_code"], "--budget-usd", "50", "--json")
    assert wider.returncode != 0 and len(wider.stderr.strip().splitlines()) == 1, wider.stderr
    bad = cli.run("request", "approve", started["user_code"], "--expires-in", "soon")
    assert bad.returncode == 2
    # Refusals decided nothing: the request still waits.
    assert started["user_code"] in {r["user_code"] for r in cli.json("request", "list")["data"]}
    table = cli.run("request", "list")
    assert table.returncode == 0 and started["user_code"] in table.stdout and "Greedy tool" in table.stdout
    denied = cli.run("request", "deny", started["user_code"])
    assert denied.returncode == 0 and "Request denied" in denied.stdout, denied.stderr

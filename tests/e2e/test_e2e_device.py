"""The device authorization grant (RFC 8628) on the running stack, with plain HTTP on the device's side and the
owner deciding from a terminal: `tollgate request list` shows what the device asks, `tollgate request approve
USER_CODE --budget-usd … --model …` narrows and approves it (or `deny`), and each poll of the token endpoint gets
the RFC's answer: authorization_pending, slow_down when polled too fast, then the tokens or access_denied."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import Cli, Sdk
from tollgate_servicekit.testing import eventually

from .oauth_flow import WELL_KNOWN_AS, details

pytestmark = pytest.mark.e2e

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PROMPT: list[Any] = [{"role": "user", "content": "Say hello"}]


@dataclass
class Device:
    """A CLI on a box without a browser: it starts the flow, shows the user code, and polls as RFC 8628 §3.5
    says — never sooner than `interval`, five seconds more after each slow_down."""

    http: httpx.AsyncClient
    meta: dict[str, Any]
    client_id: str
    started: dict[str, Any]
    last_poll: float = 0.0

    @classmethod
    async def start(cls, stack: Stack, http: httpx.AsyncClient, asked: list[dict[str, Any]]) -> Device:
        meta = (await http.get(stack.auth_url + WELL_KNOWN_AS)).json()
        body = {"client_name": "Build bot", "grant_types": [DEVICE_GRANT], "token_endpoint_auth_method": "none"}
        registered = await http.post(meta["registration_endpoint"], json=body)
        assert registered.status_code == 201, registered.text
        client_id = registered.json()["client_id"]
        data = {"client_id": client_id, "authorization_details": json.dumps(asked), "resource": stack.proxy_url}
        answer = await http.post(meta["device_authorization_endpoint"], data=data)
        assert answer.status_code == 200, answer.text
        started = answer.json()
        assert started["verification_uri"] == f"{stack.auth_url}/device"
        assert started["verification_uri_complete"].startswith(started["verification_uri"] + "?user_code=")
        assert started["interval"] >= 1 and started["expires_in"] > 0
        return cls(http, meta, client_id, started)

    @property
    def user_code(self) -> str:
        return str(self.started["user_code"])

    async def poll(self) -> httpx.Response:
        self.last_poll = time.monotonic()
        data = {"grant_type": DEVICE_GRANT, "device_code": self.started["device_code"], "client_id": self.client_id}
        answer = await self.http.post(self.meta["token_endpoint"], data=data)
        if answer.status_code == 400 and answer.json()["error"] == "slow_down":
            self.started["interval"] += 5  # RFC 8628 §3.5: for this and every later poll
        return answer

    async def outcome(self) -> httpx.Response:
        """The first answer that is neither authorization_pending nor slow_down, polling when each poll is due."""

        async def settled() -> httpx.Response | None:
            if time.monotonic() - self.last_poll < self.started["interval"]:
                return None
            answer = await self.poll()
            waiting = answer.status_code == 400 and answer.json()["error"] in ("authorization_pending", "slow_down")
            return None if waiting else answer

        answer: httpx.Response = await eventually(settled, timeout=60, interval=0.25, what="the device's answer")
        return answer


def error_of(answer: httpx.Response) -> str:
    assert answer.status_code == 400, answer.text
    error: str = answer.json()["error"]
    return error


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def pending(cli: Cli, user_code: str) -> list[dict[str, Any]]:
    return [r for r in cli.json("request", "list")["data"] if r["user_code"] == user_code]


async def test_a_device_gets_the_grant_the_owner_narrowed_with_tollgate_request_approve(
    e2e_stack: Stack, http: httpx.AsyncClient, cli: Cli, sdk: Sdk, handed_out: dict[str, str]
) -> None:
    asked = details(models=["gpt-4o-mini", "gpt-4o"], max_requests=100, reason="nightly build summaries")
    device = await Device.start(e2e_stack, http, asked)
    assert error_of(await device.poll()) == "authorization_pending"
    assert error_of(await device.poll()) == "slow_down"  # polled again at once

    [listed] = pending(cli, device.user_code)
    assert listed["id"].startswith("req_") and listed["client_name"] == "Build bot"
    [detail] = listed["authorization_details"]
    assert (detail["provider"], detail["models"], detail["reason"]) == (
        "openai",
        ["gpt-4o-mini", "gpt-4o"],
        "nightly build summaries",
    )
    grant = cli.json(
        "request",
        "approve",
        device.user_code.lower().replace("-", ""),  # as a person might type it
        "--budget-usd",
        "0.50",
        "--model",
        "gpt-4o-mini",
        "--max-requests",
        "5",
        "--expires-in",
        "1h",
    )
    assert (grant["status"], grant["models"], grant["budget_usd"], grant["max_requests"]) == (
        "active",
        ["gpt-4o-mini"],
        "0.500000",
        5,
    ), grant
    assert pending(cli, device.user_code) == []

    answer = await device.outcome()
    assert answer.status_code == 200, answer.text
    token = answer.json()
    handed_out["device access token"] = token["access_token"]
    if token.get("refresh_token"):
        handed_out["device refresh token"] = token["refresh_token"]
    assert (token["token_type"], token["grant_id"]) == ("Bearer", grant["id"])
    [granted] = token["authorization_details"]
    assert (granted["models"], granted["budget"]["amount"], granted["max_requests"]) == (["gpt-4o-mini"], "0.50", 5)
    # The device code buys tokens once (RFC 8628 §3.5 lets it be refused after use; invalid_grant).
    device.last_poll = 0.0
    assert error_of(await device.poll()) == "invalid_grant"

    client = sdk.openai(token["access_token"])
    assert client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT).choices
    with pytest.raises(openai.PermissionDeniedError) as outside:
        client.chat.completions.create(model="gpt-4o", messages=PROMPT)
    assert outside.value.code == "model_not_allowed"


async def test_a_device_denied_with_tollgate_request_deny_is_told_access_denied(
    e2e_stack: Stack, http: httpx.AsyncClient, cli: Cli
) -> None:
    device = await Device.start(e2e_stack, http, details())
    assert error_of(await device.poll()) == "authorization_pending"
    [listed] = pending(cli, device.user_code)
    denied = cli.json("request", "deny", listed["id"])
    assert (denied["id"], denied["status"]) == (listed["id"], "denied")
    assert pending(cli, device.user_code) == []
    assert error_of(await device.outcome()) == "access_denied"
    # A decision is final: approving it now is refused, and the CLI says so.
    again = cli.run("request", "approve", listed["id"], "--json")
    assert again.returncode != 0

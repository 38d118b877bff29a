"""The owner decides a device request (RFC 8628) through the admin API (`/v1/requests`), over plain HTTP against
the real app (real NATS, real SQLite, an injected clock): the device polls, the owner approves with a narrowing
(or denies, or lets it expire), and the device's next poll gets the token or the RFC's error."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jwt

from tollgate_servicekit.testing import eventually

from .conftest import last_state
from .test_auth_oauth_device import device_client, error_of, poll, start
from .test_auth_oauth_errors import clock, http

__all__ = ["clock", "http"]


def admin(admin_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_key}"}


async def listed(http: httpx.AsyncClient, admin_key: str) -> list[dict[str, Any]]:
    answer = await http.get("/v1/requests", headers=admin(admin_key))
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


async def decide(http: httpx.AsyncClient, admin_key: str, name: str, verb: str, **body: Any) -> httpx.Response:
    return await http.post(f"/v1/requests/{name}/{verb}", json=body or None, headers=admin(admin_key))


async def test_pending_then_slow_down_then_approved_narrowed_by_the_admin_api(http, clock, admin_key, js) -> None:
    client_id = await device_client(http)
    started = await start(http, client_id)
    code = started["device_code"]
    assert error_of(await poll(http, client_id, code)) == "authorization_pending"
    assert error_of(await poll(http, client_id, code)) == "slow_down"

    [pending] = await listed(http, admin_key)
    assert (pending["client_name"], pending["user_code"], pending["status"]) == (
        "Build bot",
        started["user_code"],
        "pending",
    )
    assert pending["id"].startswith("req_") and pending["client_id"] == client_id
    [asked] = pending["authorization_details"]
    assert (asked["provider"], asked["models"], asked["budget"]["amount"]) == ("openai", ["gpt-4o-mini"], "5.00")
    assert asked["reason"] == "Summarise my notes"

    # By user code, typed the way a person would (lower case, no dash).
    typed = started["user_code"].lower().replace("-", "")
    approved = await decide(http, admin_key, typed, "approve", budget_usd="1.50", max_requests=10)
    assert approved.status_code == 200, approved.text
    grant = approved.json()
    assert (grant["status"], grant["budget_usd"], grant["max_requests"]) == ("active", "1.500000", 10)
    assert (grant["provider"], grant["models"], grant["app_name"]) == ("openai", ["gpt-4o-mini"], "Build bot")
    # Created through the service: its state is on the bus (acknowledged) before the API answered.
    state = await last_state(js, "TG_GRANTS", f"grant.state.v1.{grant['id']}")
    assert state["budget_micro_usd"] == 1_500_000
    assert await listed(http, admin_key) == []

    clock.advance(11)
    token = await poll(http, client_id, code)
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["grant_id"] == grant["id"]
    assert body["authorization_details"][0]["budget"]["amount"].startswith("1.5")
    assert body["authorization_details"][0]["max_requests"] == 10
    assert jwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["client_id"]) == (grant["id"], client_id)

    clock.advance(11)
    assert error_of(await poll(http, client_id, code)) == "invalid_grant"
    again = await decide(http, admin_key, started["user_code"], "approve")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "request_decided")


async def test_a_request_denied_by_the_admin_api_is_access_denied(http, clock, admin_key) -> None:
    client_id = await device_client(http)
    started = await start(http, client_id)
    [pending] = await listed(http, admin_key)
    denied = await decide(http, admin_key, pending["id"], "deny")
    assert denied.status_code == 200, denied.text
    assert (denied.json()["status"], denied.json()["grant_id"]) == ("denied", None)
    assert error_of(await poll(http, client_id, started["device_code"])) == "access_denied"
    late = await decide(http, admin_key, pending["id"], "approve")
    assert (late.status_code, late.json()["error"]["code"]) == (409, "request_decided")


async def test_an_undecided_request_expires_and_can_no_longer_be_approved(http, clock, admin_key) -> None:
    client_id = await device_client(http)
    started = await start(http, client_id)
    clock.advance(601)
    assert await listed(http, admin_key) == []
    late = await decide(http, admin_key, started["user_code"], "approve")
    assert (late.status_code, late.json()["error"]["code"]) == (409, "expired_token")
    assert error_of(await poll(http, client_id, started["device_code"])) == "expired_token"


async def test_the_owner_can_only_narrow_and_must_name_a_request(http, admin_key) -> None:
    client_id = await device_client(http)
    started = await start(http, client_id)
    wider = await decide(http, admin_key, started["user_code"], "approve", budget_usd="10")
    assert wider.status_code == 422, wider.text
    other = await decide(http, admin_key, started["user_code"], "approve", models=["gpt-4o"])
    assert other.status_code == 422, other.text
    garbled = await decide(http, admin_key, started["user_code"], "approve", budget_usd="lots")
    assert garbled.status_code == 422, garbled.text
    missing = await decide(http, admin_key, "BCDF-GHJK", "approve")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "request_not_found")
    assert (await http.get("/v1/requests")).status_code == 401
    assert (await http.post(f"/v1/requests/{started['user_code']}/deny")).status_code == 401
    # Still pending after all that.
    assert [r["user_code"] for r in await listed(http, admin_key)] == [started["user_code"]]


async def test_a_scope_only_request_is_approved_once_the_owner_names_provider_and_models(http, admin_key) -> None:
    client_id = await device_client(http)
    answer = await http.post("/oauth/device_authorization", data={"client_id": client_id, "scope": "ai"})
    assert answer.status_code == 200, answer.text
    user_code = answer.json()["user_code"]
    [pending] = await listed(http, admin_key)
    assert pending["scope"] == "ai"
    assert json.dumps(pending["authorization_details"])  # the ask, possibly empty of terms
    incomplete = await decide(http, admin_key, user_code, "approve")
    assert incomplete.status_code == 422, incomplete.text
    chosen = await decide(http, admin_key, user_code, "approve", provider="openai", models=["gpt-4o-mini"])
    assert chosen.status_code == 200, chosen.text
    assert (chosen.json()["provider"], chosen.json()["models"]) == ("openai", ["gpt-4o-mini"])


async def test_an_approval_refused_while_the_bus_is_down_leaves_the_request_pending(
    http, clock, admin_key, fresh_nats
) -> None:
    client_id = await device_client(http)
    started = await start(http, client_id)
    fresh_nats.stop()

    async def bus_down() -> bool:
        return bool((await http.get("/readyz")).json().get("detail") == "event bus disconnected")

    await eventually(bus_down, what="/readyz to see the bus gone")
    refused = await decide(http, admin_key, started["user_code"], "approve", budget_usd="2")
    assert (refused.status_code, refused.json()["error"]["code"]) == (503, "bus_unavailable")
    # No grant was created: the request waits on, and the device keeps hearing authorization_pending.
    assert [r["status"] for r in await listed(http, admin_key)] == ["pending"]
    assert error_of(await poll(http, client_id, started["device_code"])) == "authorization_pending"

    fresh_nats.start()

    async def approved() -> httpx.Response | None:
        answer = await decide(http, admin_key, started["user_code"], "approve", budget_usd="2")
        return answer if answer.status_code == 200 else None

    grant = (await eventually(approved, timeout=30, what="the approval once the bus is back")).json()
    clock.advance(6)
    token = await poll(http, client_id, started["device_code"])
    assert token.status_code == 200, token.text
    assert token.json()["grant_id"] == grant["id"]

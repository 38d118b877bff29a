"""Who may approve, and an approval the bus cannot carry, on both owner pages (consent and device verification),
over plain HTTP against the real app (real NATS, real SQLite, an injected clock).

A read-only owner sees a request without Approve, and an approval posted anyway is refused (403) with nothing
recorded. An approval made while the bus is down creates no grant and leaves the request pending (503, the form
again), so the owner can approve once the bus is back and the device's polls never hang on "approved, no grant".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tollgate_auth.app import create_app
from tollgate_servicekit.testing import FixedClock, eventually

from .conftest import running
from .test_auth_oauth_device import device_client, error_of, poll, start
from .test_auth_oauth_errors import AUTHORIZE, params, register
from .test_auth_oauth_flow import PUBLIC_URL, REDIRECT, form_fields, query

PASSWORD = "correct horse battery staple"
APPROVE_BUTTON = 'name="decision" value="approve"'
DENY_BUTTON = 'name="decision" value="deny"'


@dataclass
class Auth:
    http: httpx.AsyncClient
    app: FastAPI
    clock: FixedClock
    admin: dict[str, str]

    async def sign_in(self, email: str, role: str = "user") -> None:
        """This client is now `email`'s browser (a new account with `role`)."""
        accounts = self.app.state.runtime.service.accounts
        user = await accounts.create_user(email, PASSWORD, role=role)
        self.http.cookies.set("tollgate_session", await accounts.open_session(user))

    async def status(self, request_id: str) -> tuple[str, str | None]:
        stored = await self.app.state.runtime.oauth_store.get_request(request_id)
        assert stored is not None
        return stored.status, stored.grant_id

    async def grants(self) -> list[dict[str, Any]]:
        answer = await self.http.get("/v1/grants", headers=self.admin)
        assert answer.status_code == 200, answer.text
        data: list[dict[str, Any]] = answer.json()["data"]
        return data

    async def bus_down(self) -> None:
        async def down() -> bool:
            return bool((await self.http.get("/readyz")).json().get("detail") == "event bus disconnected")

        await eventually(down, what="/readyz to see the bus gone")


@pytest.fixture
async def auth(make_settings, admin_key) -> AsyncIterator[Auth]:
    clock = FixedClock(datetime.now(UTC))
    app = create_app(make_settings(password_hash_time_cost=1, password_hash_memory_kib=64), clock=clock)
    async with running(app) as http:
        http.base_url = httpx.URL(PUBLIC_URL)
        yield Auth(http, app, clock, {"Authorization": f"Bearer {admin_key}"})


async def consent_page(auth: Auth) -> httpx.Response:
    client_id = await register(auth.http)
    page = await auth.http.get(AUTHORIZE, params=params(client_id))
    assert page.status_code == 200, page.text
    return page


async def device_page(auth: Auth, user_code: str) -> httpx.Response:
    page = await auth.http.get("/device", params={"user_code": user_code})
    assert page.status_code == 200, page.text
    return page


# -- a read-only owner ------------------------------------------------------------------------------------------------


async def test_a_read_only_owner_sees_the_consent_page_without_approve_and_cannot_approve(auth: Auth) -> None:
    await auth.sign_in("viewer@example.com", role="read-only")
    page = await consent_page(auth)
    assert "Summarise my notes" in page.text
    assert APPROVE_BUTTON not in page.text and DENY_BUTTON in page.text
    assert "read-only" in page.text
    fields = form_fields(page.text)

    refused = await auth.http.post(AUTHORIZE, data={**fields, "decision": "approve"})
    assert refused.status_code == 403
    assert "location" not in refused.headers
    assert "read-only" in refused.text
    assert await auth.status(fields["request_id"]) == ("pending", None)
    assert await auth.grants() == []

    # Denying gives nothing away: a read-only owner may.
    denied = await auth.http.post(AUTHORIZE, data={**fields, "decision": "deny"})
    assert denied.status_code == 303
    assert query(denied.headers["location"])["error"] == "access_denied"


async def test_an_owner_who_may_consent_still_sees_approve(auth: Auth) -> None:
    await auth.sign_in("dev@example.com", role="developer")
    page = await consent_page(auth)
    assert APPROVE_BUTTON in page.text and DENY_BUTTON in page.text


async def test_a_read_only_owner_cannot_approve_a_device_but_another_owner_can(auth: Auth) -> None:
    await auth.sign_in("viewer@example.com", role="read-only")
    client_id = await device_client(auth.http)
    started = await start(auth.http, client_id)
    page = await device_page(auth, started["user_code"])
    assert "Build bot" in page.text
    assert APPROVE_BUTTON not in page.text and DENY_BUTTON in page.text
    fields = form_fields(page.text)

    refused = await auth.http.post("/device", data={**fields, "decision": "approve"})
    assert refused.status_code == 403
    assert "read-only" in refused.text
    assert await auth.status(fields["request_id"]) == ("pending", None)
    assert await auth.grants() == []
    assert error_of(await poll(auth.http, client_id, started["device_code"])) == "authorization_pending"

    await auth.sign_in("owner@example.com")
    page = await device_page(auth, started["user_code"])
    approved = await auth.http.post("/device", data={**form_fields(page.text), "decision": "approve"})
    assert approved.status_code == 200, approved.text
    assert "Approved" in approved.text
    auth.clock.advance(6)
    token = await poll(auth.http, client_id, started["device_code"])
    assert token.status_code == 200, token.text


# -- the bus down while the owner approves -----------------------------------------------------------------------------


async def test_a_consent_approved_while_the_bus_is_down_stays_pending_and_works_once_it_is_back(
    auth: Auth, fresh_nats
) -> None:
    await auth.sign_in("owner@example.com")
    page = await consent_page(auth)
    fields = form_fields(page.text)
    fresh_nats.stop()
    await auth.bus_down()

    refused = await auth.http.post(AUTHORIZE, data={**fields, "decision": "approve"})
    assert refused.status_code == 503, refused.text
    assert "nothing was approved" in refused.text
    # The same form again, to try once more.
    assert APPROVE_BUTTON in refused.text
    assert await auth.status(fields["request_id"]) == ("pending", None)

    fresh_nats.start()

    async def approved() -> httpx.Response | None:
        answer = await auth.http.post(AUTHORIZE, data={**fields, "decision": "approve"})
        return answer if answer.status_code == 303 else None

    redirect = await eventually(approved, timeout=30, what="the approval once the bus is back")
    location = redirect.headers["location"]
    assert location.startswith(REDIRECT) and query(location)["code"]
    status, grant_id = await auth.status(fields["request_id"])
    assert status == "approved" and grant_id is not None
    assert [g["id"] for g in await auth.grants()] == [grant_id]


async def test_a_device_approved_while_the_bus_is_down_keeps_polling_pending_then_gets_its_token(
    auth: Auth, fresh_nats
) -> None:
    await auth.sign_in("owner@example.com")
    client_id = await device_client(auth.http)
    started = await start(auth.http, client_id)
    fields = form_fields((await device_page(auth, started["user_code"])).text)
    fresh_nats.stop()
    await auth.bus_down()

    refused = await auth.http.post("/device", data={**fields, "decision": "approve", "budget_usd": "2"})
    assert refused.status_code == 503, refused.text
    assert "nothing was approved" in refused.text and APPROVE_BUTTON in refused.text
    assert await auth.status(fields["request_id"]) == ("pending", None)
    assert error_of(await poll(auth.http, client_id, started["device_code"])) == "authorization_pending"

    fresh_nats.start()

    async def approved() -> httpx.Response | None:
        answer = await auth.http.post("/device", data={**fields, "decision": "approve", "budget_usd": "2"})
        return answer if answer.status_code == 200 else None

    done = await eventually(approved, timeout=30, what="the approval once the bus is back")
    assert "Approved" in done.text
    auth.clock.advance(6)
    token = await poll(auth.http, client_id, started["device_code"])
    assert token.status_code == 200, token.text
    assert token.json()["authorization_details"][0]["budget"]["amount"] == "2.00"
    [grant] = await auth.grants()
    assert token.json()["grant_id"] == grant["id"]

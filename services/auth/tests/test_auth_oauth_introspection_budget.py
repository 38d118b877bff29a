"""Introspection's "last known remaining budget" (RFC 7662): auth, connected as its own locked NATS user, reads the
grant's last budget state (metering's) with one direct get per introspection; a state from any other producer is
ignored, and with the bus away introspection still answers, without the budget."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from nats.js import JetStreamContext
from pydantic import SecretStr

from tollgate_auth.app import create_app
from tollgate_contracts import BudgetState
from tollgate_contracts.streams import BUDGETS
from tollgate_servicekit.natsserver import NatsServer

from .conftest import running
from .test_auth_oauth_flow import PUBLIC_URL, Flow
from .test_auth_oauth_tokens import introspect, tokens

BUDGET_FIELDS = ("budget_remaining_usd", "budget_exhausted", "requests_remaining")


@pytest.fixture
async def flow(make_settings, fresh_nats: NatsServer) -> AsyncIterator[Flow]:
    """As `test_auth_oauth_flow.flow`, but auth is on the bus as the `auth` user, with its real permissions."""
    user, password = fresh_nats.credentials("auth")
    settings = make_settings(
        nats_url=fresh_nats.address,
        nats_user=user,
        nats_password=SecretStr(password),
        password_hash_time_cost=1,
        password_hash_memory_kib=64,
    )
    app = create_app(settings)
    async with running(app) as http:
        http.base_url = httpx.URL(PUBLIC_URL)
        accounts = app.state.runtime.service.accounts
        owner = await accounts.create_user("owner@example.com", "correct horse battery staple")
        http.cookies.set("tollgate_session", await accounts.open_session(owner))
        meta = (await http.get("/.well-known/oauth-authorization-server")).json()
        yield Flow(http, meta, app)


def budget(grant_id: str, *, producer: str = "metering/mtr_1", version: int = 1, **fields: object) -> BudgetState:
    values: dict[str, object] = {
        "limit_micro_usd": 1_250_000,
        "spent_micro_usd": 500_000,
        "max_requests": 10,
        "requests": 3,
        "exhausted": False,
        **fields,
    }
    return BudgetState(producer=producer, state_version=version, grant_id=grant_id, **values)  # type: ignore[arg-type]


async def publish(js: JetStreamContext, state: BudgetState) -> None:
    """As metering would (the test's client is the harness user: it may publish anything)."""
    await js.publish(state.subject, state.model_dump_json().encode(), stream=BUDGETS.name)


async def test_introspection_tells_the_last_known_remaining_budget(flow: Flow, js: JetStreamContext) -> None:
    client_id, token = await tokens(flow)
    before = await introspect(flow, client_id, token["access_token"])
    assert before["active"] is True
    assert not set(BUDGET_FIELDS) & set(before)  # metering has published nothing yet

    await publish(js, budget(token["grant_id"]))
    body = await introspect(flow, client_id, token["access_token"])
    assert (body["budget_remaining_usd"], body["budget_exhausted"], body["requests_remaining"]) == ("0.75", False, 7)
    refresh = await introspect(flow, client_id, token["refresh_token"])
    assert refresh["budget_remaining_usd"] == "0.75"

    # No cache: the next state is read at the next introspection.
    await publish(js, budget(token["grant_id"], version=2, spent_micro_usd=1_300_000, requests=4, exhausted=True))
    spent = await introspect(flow, client_id, token["access_token"])
    assert (spent["budget_remaining_usd"], spent["budget_exhausted"], spent["requests_remaining"]) == ("0.00", True, 6)

    # Uncapped: only what is known is said.
    await publish(js, budget(token["grant_id"], version=3, limit_micro_usd=None, max_requests=None))
    uncapped = await introspect(flow, client_id, token["access_token"])
    assert uncapped["budget_exhausted"] is False
    assert "budget_remaining_usd" not in uncapped and "requests_remaining" not in uncapped


async def test_a_budget_state_from_another_producer_is_ignored(flow: Flow, js: JetStreamContext) -> None:
    client_id, token = await tokens(flow)
    await publish(js, budget(token["grant_id"], producer="proxy/prx_1", spent_micro_usd=0, requests=0))
    body = await introspect(flow, client_id, token["access_token"])
    assert body["active"] is True
    assert not set(BUDGET_FIELDS) & set(body)
    # Nor one published on this grant's subject naming another grant.
    other = budget("grt_other", version=2)
    await js.publish(f"{BudgetState.subject_prefix}.{token['grant_id']}", other.model_dump_json().encode())
    assert not set(BUDGET_FIELDS) & set(await introspect(flow, client_id, token["access_token"]))


async def test_with_the_bus_away_introspection_answers_without_the_budget(
    flow: Flow, js: JetStreamContext, fresh_nats: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    client_id, token = await tokens(flow)
    await publish(js, budget(token["grant_id"]))
    assert (await introspect(flow, client_id, token["access_token"]))["budget_remaining_usd"] == "0.75"

    fresh_nats.stop()
    with caplog.at_level(logging.WARNING, logger="tollgate_auth.oauth.endpoints"):
        for _ in range(3):
            body = await introspect(flow, client_id, token["access_token"])
            assert (body["active"], body["grant_id"]) == (True, token["grant_id"])
            assert not set(BUDGET_FIELDS) & set(body)
    away = [r for r in caplog.records if r.name == "tollgate_auth.oauth.endpoints" and r.levelno == logging.WARNING]
    assert len(away) == 1, [r.getMessage() for r in away]

"""A tenant's consent template: what the consent page proposes where an app asked for nothing.

Pure validation (the grant validators' rules, field by field), the admin API round trip on SQLite and PostgreSQL
(`GET/PUT /v1/tenants/{id}/consent-template`: 404 for an unknown tenant, 422 for a bad value), and a scope-only
authorization request whose consent page shows the owner's tenant's template, not the built-in default — then
the approval narrows from it (the granted budget is the template's).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from tollgate_auth.app import create_app
from tollgate_auth.domain.access import DEFAULT_TEMPLATE, Template
from tollgate_auth.domain.errors import InvalidRequest
from tollgate_auth.domain.templates import parse_template, template_json, template_of_json
from tollgate_contracts import BudgetPeriod, Capability

from .conftest import running
from .test_auth_oauth_device import device_client
from .test_auth_oauth_errors import AUTHORIZE, register
from .test_auth_oauth_flow import PUBLIC_URL, REDIRECT, form_fields

PASSWORD = "correct horse battery staple"
FULL = {
    "provider": "openai",
    "models": ["gpt-4o-mini", "gpt-4o*"],
    "capabilities": ["chat", "embeddings"],
    "budget_usd": "2.50",
    "budget_period": "month",
    "max_requests": 500,
    "rpm": 30,
    "tpm": 20000,
    "expires_in_seconds": 7 * 86400,
}


# -- pure validation --------------------------------------------------------------------------------------------------


def test_a_full_template_is_parsed_and_written_back_the_same() -> None:
    template = template_of_json(FULL)
    assert template == Template(
        provider="openai",
        models=("gpt-4o-mini", "gpt-4o*"),
        capabilities=(Capability.CHAT, Capability.EMBEDDINGS),
        budget_micro_usd=2_500_000,
        budget_period=BudgetPeriod.MONTH,
        max_requests=500,
        rpm=30,
        tpm=20000,
        expires_in_seconds=7 * 86400,
    )
    assert template_of_json(template_json(template)) == template
    assert template_json(template)["budget_usd"] == "2.500000"


def test_an_empty_template_proposes_nothing_and_the_default_round_trips() -> None:
    assert parse_template() == Template()
    assert template_of_json({}) == Template()
    assert template_of_json(template_json(DEFAULT_TEMPLATE)) == DEFAULT_TEMPLATE


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("provider", "Open AI", "provider:"),
        ("models", [], "models:"),
        ("models", ["has space"], "models:"),
        ("models", "gpt-4o", "models: must be a list"),
        ("capabilities", ["teleport"], "capabilities:"),
        ("budget_usd", "-1", "budget_usd:"),
        ("budget_usd", "0.0000001", "budget_usd:"),
        ("budget_usd", True, "budget_usd:"),
        ("budget_period", "week", "budget_period:"),
        ("max_requests", -1, "max_requests:"),
        ("rpm", 0, "rpm:"),
        ("tpm", "10", "tpm: must be a whole number"),
        ("expires_in_seconds", 0, "expires_in_seconds:"),
        ("expires_in_seconds", 11 * 365 * 86400, "expires_in_seconds:"),
        ("colour", "blue", "colour: unknown field"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(field: str, value: Any, says: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        template_of_json({**FULL, field: value})
    assert refused.value.message.startswith(says), refused.value.message


def test_a_period_without_a_budget_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="budget_period: needs budget_usd"):
        parse_template(budget_period="day")


# -- the admin API, on SQLite and PostgreSQL --------------------------------------------------------------------------


@pytest.fixture
async def admin(make_settings, database, admin_key) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url=database.url, database_schema=database.schema or "auth")
    async with running(create_app(settings), admin_key=admin_key) as http:
        yield http


async def _tenant(http: httpx.AsyncClient, name: str = "acme") -> str:
    created = await http.post("/v1/tenants", json={"name": name})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_a_tenant_starts_with_the_default_and_keeps_the_template_it_is_given(admin: httpx.AsyncClient) -> None:
    tenant_id = await _tenant(admin)
    url = f"/v1/tenants/{tenant_id}/consent-template"
    before = (await admin.get(url)).json()
    assert before["is_default"] is True and before["tenant_id"] == tenant_id
    assert before["budget_usd"] == "5.000000" and before["expires_in_seconds"] == 30 * 86400

    put = await admin.put(url, json=FULL)
    assert put.status_code == 200, put.text
    after = (await admin.get(url)).json()
    assert after == put.json()
    assert after["is_default"] is False
    assert {k: after[k] for k in FULL} == {**FULL, "budget_usd": "2.500000"}

    # A PUT replaces the whole template: what it leaves out proposes nothing.
    replaced = (await admin.put(url, json={"budget_usd": 1})).json()
    assert replaced["budget_usd"] == "1.000000" and replaced["budget_period"] == "total"
    assert replaced["provider"] is None and replaced["expires_in_seconds"] is None


async def test_an_unknown_tenant_is_404_and_a_bad_template_422_with_nothing_stored(admin: httpx.AsyncClient) -> None:
    missing = "tnt_" + "X" * 200
    for answer in (
        await admin.get(f"/v1/tenants/{missing}/consent-template"),
        await admin.put(f"/v1/tenants/{missing}/consent-template", json={"budget_usd": "1"}),
    ):
        assert answer.status_code == 404, answer.text
        assert "X" * 100 not in answer.text  # the id is clipped, not echoed whole

    tenant_id = await _tenant(admin)
    url = f"/v1/tenants/{tenant_id}/consent-template"
    for body in ({"provider": "Open AI"}, {"budget_usd": "lots"}, {"rpm": 0}, {"budget_period": "week"}, {"x": 1}):
        refused = await admin.put(url, json=body)
        assert refused.status_code == 422, (body, refused.text)
    assert (await admin.get(url)).json()["is_default"] is True


# -- a scope-only request on the consent page -------------------------------------------------------------------------


@pytest.fixture
async def app_http(make_settings, admin_key) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app = create_app(make_settings(password_hash_time_cost=1, password_hash_memory_kib=64))
    async with running(app, admin_key=admin_key) as http:
        http.base_url = httpx.URL(PUBLIC_URL)
        yield app, http


async def test_a_scope_only_request_proposes_the_owner_tenants_template(
    app_http: tuple[Any, httpx.AsyncClient],
) -> None:
    app, http = app_http
    tenant_id = await _tenant(http)
    template = {**FULL, "capabilities": None, "budget_usd": "1.25", "budget_period": "day", "max_requests": 77}
    assert (await http.put(f"/v1/tenants/{tenant_id}/consent-template", json=template)).status_code == 200
    accounts = app.state.runtime.service.accounts
    owner = await accounts.create_user("owner@acme.example", PASSWORD, tenant_id=tenant_id)
    http.cookies.set("tollgate_session", await accounts.open_session(owner))

    client_id = await register(http)
    verifier = generate_token(48)
    page = await http.get(
        AUTHORIZE,
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "state": "st-1",
            "scope": "ai",
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        },
    )
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="provider" name="provider" type="text" autocomplete="off" value="openai"' in html
    assert 'value="gpt-4o-mini, gpt-4o*"' in html
    assert 'id="budget_usd" name="budget_usd" type="text" inputmode="decimal" autocomplete="off" value="1.25"' in html
    assert '<option value="day" selected>' in html
    assert 'name="max_requests" type="text" inputmode="numeric" autocomplete="off" value="77"' in html
    assert 'value="7d"' in html
    assert "5.00" not in html  # not the built-in default

    # Approving as proposed grants the template's terms, in the owner's tenant.
    approved = await http.post(AUTHORIZE, data={**form_fields(html), "decision": "approve"})
    assert approved.status_code == 303, approved.text
    grants = (await http.get("/v1/grants")).json()["data"]
    assert len(grants) == 1
    grant = grants[0]
    assert grant["tenant_id"] == tenant_id
    assert (grant["provider"], grant["models"]) == ("openai", ["gpt-4o-mini", "gpt-4o*"])
    assert (grant["budget_micro_usd"], grant["budget_period"], grant["max_requests"]) == (1_250_000, "day", 77)


async def test_device_requests_start_from_the_template_on_the_page_and_through_the_admin_api(
    app_http: tuple[Any, httpx.AsyncClient],
) -> None:
    app, http = app_http
    tenants = (await http.get("/v1/tenants")).json()["data"]
    default_id = next(t["id"] for t in tenants if t["name"] == "default")
    assert (await http.put(f"/v1/tenants/{default_id}/consent-template", json=FULL)).status_code == 200
    client_id = await device_client(http)

    async def scope_only() -> dict[str, Any]:
        answer = await http.post("/oauth/device_authorization", data={"client_id": client_id, "scope": "ai"})
        assert answer.status_code == 200, answer.text
        started: dict[str, Any] = answer.json()
        return started

    # The verification page, for an owner of the default tenant, proposes its template.
    accounts = app.state.runtime.service.accounts
    owner = await accounts.create_user("owner@example.com", PASSWORD, tenant_id=default_id)
    http.cookies.set("tollgate_session", await accounts.open_session(owner))
    page = await http.get("/device", params={"user_code": (await scope_only())["user_code"]})
    assert page.status_code == 200, page.text
    assert 'autocomplete="off" value="2.5"' in page.text and 'value="7d"' in page.text

    # The admin API, approving as proposed (no narrowing given), grants the template's terms.
    approved = await http.post(f"/v1/requests/{(await scope_only())['user_code']}/approve")
    assert approved.status_code == 200, approved.text
    grant = approved.json()
    assert (grant["tenant_id"], grant["provider"], grant["models"]) == (
        default_id,
        "openai",
        ["gpt-4o-mini", "gpt-4o*"],
    )
    assert (grant["budget_usd"], grant["budget_period"], grant["max_requests"]) == ("2.500000", "month", 500)

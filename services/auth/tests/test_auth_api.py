"""The HTTP API against a real NATS and a real database, asserting what lands on the JetStream streams."""

from __future__ import annotations

import hashlib
import logging

import jwt
import pytest
from pydantic import SecretStr

from tollgate_auth.app import create_app
from tollgate_auth.domain import GrantRequest
from tollgate_contracts import BudgetPeriod, GrantState, TenantState, TenantStatus

from .conftest import last_state, running, stream_messages

GRANT = {"provider": "openai", "models": ["gpt-4o-mini"], "budget_usd": "5"}


async def test_a_new_grant_is_published_as_full_state_with_an_audit_event(make_settings, database, admin_key, js):
    settings = make_settings(database_url=database.url, database_schema=database.schema or "auth")
    async with running(create_app(settings), admin_key=admin_key) as client:
        created = await client.post("/v1/grants", json={**GRANT, "app_name": "notes", "rpm": 60})
        assert created.status_code == 201, created.text
        grant = created.json()

    assert grant["id"].startswith("grt_")
    assert (grant["status"], grant["version"], grant["budget_micro_usd"], grant["budget_usd"]) == (
        "active",
        1,
        5_000_000,
        "5.000000",
    )
    assert grant["capabilities"] == ["chat"]
    assert (grant["budget_period"], grant["parent_grant_id"]) == ("total", None)
    state = GrantState.model_validate(await last_state(js, "TG_GRANTS", f"grant.state.v1.{grant['id']}"))
    assert (state.producer, state.state_version, state.status, state.rpm) == ("auth", 1, "active", 60)
    assert state.budget_micro_usd == 5_000_000
    assert state.tenant_id == grant["tenant_id"]
    audits = [m for m in await stream_messages(js, "TG_AUDIT") if m["target_id"] == grant["id"]]
    assert [(a["subject"], a["action"], a["producer"]) for a in audits] == [("audit.auth.v1", "grant.created", "auth")]


async def test_revoke_answers_after_the_revoked_state_is_the_last_message_on_its_subject(
    make_settings, database, admin_key, js
):
    settings = make_settings(database_url=database.url, database_schema=database.schema or "auth")
    async with running(create_app(settings), admin_key=admin_key) as client:
        grant_id = (await client.post("/v1/grants", json=GRANT)).json()["id"]
        revoked = await client.post(f"/v1/grants/{grant_id}/revoke")
        # Read the stream before anything else happens: the response itself promises the PubAck.
        state = await last_state(js, "TG_GRANTS", f"grant.state.v1.{grant_id}")
        assert revoked.status_code == 200
        assert (revoked.json()["status"], revoked.json()["version"]) == ("revoked", 2)
        assert revoked.json()["revoked_at"] is not None
        assert (state["status"], state["state_version"], state["grant_id"]) == ("revoked", 2, grant_id)

        again = await client.post(f"/v1/grants/{grant_id}/revoke")
        assert (again.status_code, again.json()["version"]) == (200, 2)
        fetched = await client.get(f"/v1/grants/{grant_id}")
        assert fetched.json()["status"] == "revoked"
    actions = [m["action"] for m in await stream_messages(js, "TG_AUDIT") if m["target_id"] == grant_id]
    assert actions == ["grant.created", "grant.revoked"]


async def test_a_grant_shows_its_budget_period_and_the_parent_of_a_sub_grant(make_settings, admin_key):
    app = create_app(make_settings())
    async with running(app, admin_key=admin_key) as client:
        parent = (await client.post("/v1/grants", json=GRANT)).json()
        service = app.state.runtime.service
        # A sub-grant as the token exchange makes one: narrower, counted per day, naming its parent.
        asked = GrantRequest(
            provider="openai",
            models=["gpt-4o-mini"],
            budget_usd="1",
            budget_period=BudgetPeriod.DAY,
            parent_grant_id=parent["id"],
        )
        child = await service.create_grant(asked)
        fetched = await client.get(f"/v1/grants/{child.id}")
        listed = {g["id"]: g for g in (await client.get("/v1/grants")).json()["data"]}
    assert fetched.status_code == 200, fetched.text
    assert (fetched.json()["budget_period"], fetched.json()["parent_grant_id"]) == ("day", parent["id"])
    assert (listed[parent["id"]]["budget_period"], listed[parent["id"]]["parent_grant_id"]) == ("total", None)
    assert listed[child.id]["parent_grant_id"] == parent["id"]


async def test_a_minted_token_verifies_against_the_served_jwks(client, js):
    grant = (await client.post("/v1/grants", json={**GRANT, "expires_in_seconds": 3600})).json()
    minted = await client.post(f"/v1/grants/{grant['id']}/tokens", json={"ttl_seconds": 120})
    assert minted.status_code == 201, minted.text
    body = minted.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 120)

    keys = (await client.get("/.well-known/jwks.json", headers={"Authorization": ""})).json()["keys"]
    kid = jwt.get_unverified_header(body["access_token"])["kid"]
    [jwk] = [k for k in keys if k["kid"] == kid]
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")
    assert "d" not in jwk
    claims = jwt.decode(
        body["access_token"],
        jwt.PyJWK(jwk).key,
        algorithms=["EdDSA"],
        audience="http://127.0.0.1:8080",  # the defaults: the resource and auth's public URL
        issuer="http://127.0.0.1:8081",
        options={"require": ["exp", "iat", "nbf", "jti", "sub", "iss", "aud"]},
    )
    assert (claims["sub"], claims["tid"]) == (grant["id"], grant["tenant_id"])
    assert claims["exp"] - claims["iat"] == 120
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(body["access_token"], jwt.PyJWK(jwk).key, algorithms=["EdDSA"], audience="someone-else")

    published = await last_state(js, "TG_JWKS", f"jwks.state.v1.{kid}")
    assert (published["jwk"], published["status"], published["producer"]) == (jwk, "active", "auth")


async def test_tokens_use_the_configured_issuer_and_audience(make_settings, admin_key):
    settings = make_settings(issuer="https://auth.example", audience="edge")
    async with running(create_app(settings), admin_key=admin_key) as client:
        grant_id = (await client.post("/v1/grants", json=GRANT)).json()["id"]
        token = (await client.post(f"/v1/grants/{grant_id}/tokens")).json()
        jwk = (await client.get("/.well-known/jwks.json")).json()["keys"][0]
    claims = jwt.decode(
        token["access_token"], jwt.PyJWK(jwk).key, algorithms=["EdDSA"], audience="edge", issuer="https://auth.example"
    )
    assert claims["exp"] - claims["iat"] == 900 == token["expires_in"]


async def test_no_token_for_a_revoked_grant(client):
    grant_id = (await client.post("/v1/grants", json=GRANT)).json()["id"]
    await client.post(f"/v1/grants/{grant_id}/revoke")
    refused = await client.post(f"/v1/grants/{grant_id}/tokens")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "grant_revoked"


async def test_a_missing_or_wrong_admin_key_gets_401_in_the_error_shape(client):
    client.headers.pop("Authorization")
    for authorization in (None, "Bearer wrong-key", "Basic Zm9vOmJhcg==", "Bearer ", "bearer"):
        headers = {"Authorization": authorization} if authorization is not None else {}
        for method, path in [("GET", "/v1/grants"), ("POST", "/v1/grants"), ("GET", "/v1/tenants")]:
            response = await client.request(method, path, headers=headers, json=GRANT if method == "POST" else None)
            assert response.status_code == 401, (authorization, path)
            assert response.headers["www-authenticate"] == "Bearer"
            assert set(response.json()) == {"error"}
            error = response.json()["error"]
            assert error["code"] == "invalid_credential"
            assert error["message"] in (
                "invalid admin key",
                "missing admin key: send 'Authorization: Bearer <admin key>'",
            )


async def test_public_routes_need_no_admin_key(client):
    client.headers.pop("Authorization")
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}
    assert (await client.get("/.well-known/jwks.json")).status_code == 200


async def test_an_api_key_is_shown_once_and_published_as_its_hash(client, js):
    grant = (await client.post("/v1/grants", json=GRANT)).json()
    created = await client.post(f"/v1/grants/{grant['id']}/api-keys")
    assert created.status_code == 201, created.text
    body = created.json()
    key = body["api_key"]
    assert key.startswith("tg_") and len(key) == 46
    assert key.startswith(body["prefix"]) and len(body["prefix"]) < 16
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    state = await last_state(js, "TG_APIKEYS", f"apikey.state.v1.{key_hash}")
    assert (state["key_hash"], state["grant_id"], state["tenant_id"], state["status"], state["state_version"]) == (
        key_hash,
        grant["id"],
        grant["tenant_id"],
        "active",
        1,
    )
    listed = (await client.get(f"/v1/grants/{grant['id']}/api-keys")).json()["data"]
    assert [k["id"] for k in listed] == [body["id"]]
    assert key not in str(listed)
    everything = str(await stream_messages(js, "TG_APIKEYS")) + str(await stream_messages(js, "TG_AUDIT"))
    assert key not in everything

    revoked = await client.post(f"/v1/api-keys/{body['id']}/revoke")
    assert revoked.json()["status"] == "revoked"
    state = await last_state(js, "TG_APIKEYS", f"apikey.state.v1.{key_hash}")
    assert (state["status"], state["state_version"]) == ("revoked", 2)


async def test_no_api_key_for_a_revoked_grant(client):
    grant_id = (await client.post("/v1/grants", json=GRANT)).json()["id"]
    await client.post(f"/v1/grants/{grant_id}/revoke")
    refused = await client.post(f"/v1/grants/{grant_id}/api-keys")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "grant_revoked")


BAD_BUDGETS = [
    ("abc", "budget_usd: not a dollar amount: 'abc'"),
    ("-5", "budget_usd: dollar amount must be a non-negative number: '-5'"),
    ("0.0000001", "budget_usd: dollar amount has more precision than a micro-dollar: '0.0000001'"),
    (True, 'budget_usd: must be a dollar amount such as "5.00"'),
    ([5], 'budget_usd: must be a dollar amount such as "5.00"'),
]


async def test_a_bad_budget_is_a_422_saying_why(client):
    for budget, message in BAD_BUDGETS:
        response = await client.post("/v1/grants", json={**GRANT, "budget_usd": budget})
        assert response.status_code == 422, budget
        assert response.json() == {"error": {"code": "invalid_request", "message": message}}


async def test_a_budget_may_be_a_string_or_a_json_number(client):
    for budget, micro, text in [
        (2.5, 2_500_000, "2.500000"),
        (7, 7_000_000, "7.000000"),
        ("0.10", 100_000, "0.100000"),
    ]:
        grant = (await client.post("/v1/grants", json={**GRANT, "budget_usd": budget})).json()
        assert (grant["budget_micro_usd"], grant["budget_usd"]) == (micro, text)
    no_cap = (await client.post("/v1/grants", json={**GRANT, "budget_usd": None})).json()
    assert (no_cap["budget_micro_usd"], no_cap["budget_usd"]) == (None, None)


INVALID_GRANTS = [
    ({"models": []}, "models: "),
    ({"models": None}, "models: "),
    ({"models": "gpt-4o"}, "models: "),
    ({"provider": "Open AI"}, "provider: "),
    ({"provider": None}, "provider: "),
    ({"capabilities": ["teleport"]}, "capabilities: "),
    ({"expires_in_seconds": 0}, "expires_in_seconds: must be greater than 0"),
    ({"expires_in_seconds": -60}, "expires_in_seconds: must be greater than 0"),
    ({"expires_in_seconds": "soon"}, "expires_in_seconds: "),
    ({"budgetusd": "5"}, "budgetusd: "),
    ({"rpm": 0}, "rpm: "),
    ({"max_requests": 1.5}, "max_requests: "),
]


async def test_invalid_grants_are_422_invalid_request_naming_the_field(client):
    for change, starts in INVALID_GRANTS:
        response = await client.post("/v1/grants", json={**GRANT, **change})
        assert response.status_code == 422, (change, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_request"
        assert error["message"].startswith(starts), (change, error["message"])
    assert (await client.get("/v1/grants")).json()["data"] == []


async def test_token_lifetime_must_be_positive_and_bounded(client):
    grant_id = (await client.post("/v1/grants", json=GRANT)).json()["id"]
    for ttl in (0, -1, 86_401, "long"):
        response = await client.post(f"/v1/grants/{grant_id}/tokens", json={"ttl_seconds": ttl})
        assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_request"), ttl
        assert response.json()["error"]["message"].startswith("ttl_seconds: ")


async def test_a_body_that_is_not_json_is_invalid_request(client):
    response = await client.post("/v1/grants", content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"] == {"code": "invalid_request", "message": "the request body is not valid JSON"}


async def test_unknown_grants_and_routes_are_404_in_the_error_shape(client):
    for path in ("/v1/grants/grt_nope", "/v1/grants/grt_nope/tokens", "/v1/grants/grt_nope/revoke"):
        response = await (client.get(path) if path.count("/") == 3 else client.post(path))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "grant_not_found"
    missing = await client.get("/v1/nothing-here")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")


async def test_the_default_tenant_exists_is_published_at_start_and_owns_grants_by_default(client, js):
    tenants = (await client.get("/v1/tenants")).json()["data"]
    assert [t["name"] for t in tenants] == ["default"]
    published = await last_state(js, "TG_TENANTS", f"tenant.state.v1.{tenants[0]['id']}")
    assert (published["name"], published["status"], published["producer"]) == ("default", "active", "auth")
    grant = (await client.post("/v1/grants", json=GRANT)).json()
    assert grant["tenant_id"] == tenants[0]["id"]


async def test_tenants_are_created_listed_and_unique(client, js):
    created = await client.post("/v1/tenants", json={"name": "acme"})
    assert created.status_code == 201
    tenant = created.json()
    assert tenant["id"].startswith("tnt_") and tenant["name"] == "acme"
    assert "acme" in [t["name"] for t in (await client.get("/v1/tenants")).json()["data"]]
    duplicate = await client.post("/v1/tenants", json={"name": "acme"})
    assert (duplicate.status_code, duplicate.json()["error"]["code"]) == (409, "tenant_exists")

    grant = (await client.post("/v1/grants", json={**GRANT, "tenant_id": tenant["id"]})).json()
    assert grant["tenant_id"] == tenant["id"]
    assert [g["id"] for g in (await client.get("/v1/grants", params={"tenant_id": tenant["id"]})).json()["data"]] == [
        grant["id"]
    ]
    # The answer promises the tenant's state is on the bus: keyvault may check it at once.
    state = TenantState.model_validate(await last_state(js, "TG_TENANTS", f"tenant.state.v1.{tenant['id']}"))
    assert (state.name, state.status, state.state_version, state.producer) == ("acme", TenantStatus.ACTIVE, 1, "auth")
    unknown = await client.post("/v1/grants", json={**GRANT, "tenant_id": "tnt_nope"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "tenant_not_found")
    actions = [m["action"] for m in await stream_messages(js, "TG_AUDIT")]
    assert actions.count("tenant.created") == 2  # the default tenant and acme


async def test_anthropic_grants_default_to_messages(client):
    grant = (await client.post("/v1/grants", json={"provider": "anthropic", "models": ["claude-*"]})).json()
    assert grant["capabilities"] == ["messages"]


async def test_the_admin_key_never_appears_in_logs(make_settings, admin_key, caplog):
    caplog.set_level(logging.DEBUG)
    async with running(create_app(make_settings()), admin_key=admin_key) as client:
        grant_id = (await client.post("/v1/grants", json=GRANT)).json()["id"]
        await client.post(f"/v1/grants/{grant_id}/tokens")
        api_key = (await client.post(f"/v1/grants/{grant_id}/api-keys")).json()["api_key"]
        await client.post("/v1/grants", headers={"Authorization": f"Bearer {admin_key}x"}, json=GRANT)
        await client.post(f"/v1/grants/{grant_id}/revoke")
    logged = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    assert "auth is ready" in logged
    assert admin_key not in logged
    assert api_key not in logged


async def test_a_generated_admin_key_goes_to_a_private_file_and_not_to_the_log(make_settings, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    key_file = tmp_path / "secrets" / "admin.key"
    app = create_app(make_settings(admin_key=None, admin_key_file=key_file))
    async with running(app) as client:
        key = key_file.read_text().strip()
        assert key.startswith("tga_") and len(key) == 4 + 43
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert (await client.get("/v1/grants", headers={"Authorization": f"Bearer {key}"})).status_code == 200
    assert str(key_file) in caplog.text
    assert key not in caplog.text


async def test_an_existing_admin_key_file_is_used(make_settings, tmp_path):
    key_file = tmp_path / "admin.key"
    key_file.write_text("tga_from_the_file_0123456789\n")
    key_file.chmod(0o600)
    async with running(create_app(make_settings(admin_key=None, admin_key_file=key_file))) as client:
        ok = await client.get("/v1/tenants", headers={"Authorization": "Bearer tga_from_the_file_0123456789"})
        assert ok.status_code == 200


async def test_the_admin_key_from_the_environment_wins_over_the_file(make_settings, tmp_path, admin_key):
    key_file = tmp_path / "admin.key"
    key_file.write_text("tga_other_key_in_the_file_000\n")
    settings = make_settings(admin_key=SecretStr(admin_key), admin_key_file=key_file)
    async with running(create_app(settings), admin_key=admin_key) as client:
        assert (await client.get("/v1/tenants")).status_code == 200
        other = await client.get("/v1/tenants", headers={"Authorization": "Bearer tga_other_key_in_the_file_000"})
        assert other.status_code == 401


TWELVE_MB = 12 * 1024 * 1024


class CountingBody:
    """A request body streamed in 64 KiB chunks, counting how much the server asked for."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0

    async def __aiter__(self):
        while self.sent < self.total:
            chunk = b"x" * min(64 * 1024, self.total - self.sent)
            self.sent += len(chunk)
            yield chunk


async def test_a_12_mb_body_is_refused_with_413_before_it_is_read_or_parsed(client):
    declared = CountingBody(TWELVE_MB)
    refused = await client.post(
        "/v1/grants", content=declared, headers={"content-type": "application/json", "content-length": str(TWELVE_MB)}
    )
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "body_too_large"
    assert declared.sent <= 64 * 1024  # refused on its Content-Length: nothing read past the first chunk

    streamed = CountingBody(TWELVE_MB)  # no Content-Length: chunked
    refused = await client.post("/v1/grants", content=streamed, headers={"content-type": "application/json"})
    assert refused.status_code == 413  # not 422: the (invalid) JSON was never parsed
    assert refused.json()["error"]["code"] == "body_too_large"
    assert streamed.sent < 256 * 1024  # reading stopped right after the limit
    assert (await client.get("/v1/grants")).json()["data"] == []


async def test_an_error_never_repeats_more_than_a_short_prefix_of_a_submitted_value(client):
    huge = "grt_" + "a" * 60_000
    for response in (
        await client.get(f"/v1/grants/{huge}"),
        await client.post(f"/v1/grants/{huge}/revoke"),
        await client.post(f"/v1/api-keys/{huge}/revoke"),
        await client.post("/v1/grants", json={**GRANT, "tenant_id": huge}),
        await client.post("/v1/grants", json={**GRANT, "provider": "Open" + "A" * 60_000}),
        await client.post("/v1/grants", json={**GRANT, "budget_usd": "9" * 60_000 + "x"}),
        await client.post("/v1/grants", json={**GRANT, "models": ["a b" * 20_000]}),
    ):
        assert response.status_code in (404, 422), response.text[:200]
        message = response.json()["error"]["message"]
        assert len(message) < 200, message[:300]
        assert len(response.content) < 400
    missing = await client.get(f"/v1/grants/{huge}")
    assert missing.json()["error"] == {"code": "grant_not_found", "message": f"no grant '{huge[:64]}…'"}

"""`/v1/users`: the admin API of owner accounts (auth on SQLite and a real NATS)."""

from __future__ import annotations

import logging

import pytest

from tollgate_auth.app import create_app

from .conftest import running, stream_messages

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"


@pytest.fixture
async def api(make_settings, admin_key):
    settings = make_settings(password_hash_time_cost=1, password_hash_memory_kib=64)
    async with running(create_app(settings), admin_key=admin_key) as client:
        yield client


async def test_an_admin_creates_and_lists_users_and_the_password_never_comes_back(api, js, caplog) -> None:
    caplog.set_level(logging.INFO)
    created = await api.post("/v1/users", json={"email": "Ada@Example.com", "password": PASSWORD, "role": "admin"})
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["id"].startswith("usr_")
    assert (user["email"], user["role"]) == ("ada@example.com", "admin")
    assert set(user) == {"id", "tenant_id", "email", "role", "created_at"}
    tenants = (await api.get("/v1/tenants")).json()["data"]
    assert user["tenant_id"] == next(t["id"] for t in tenants if t["name"] == "default")

    listed = (await api.get("/v1/users")).json()["data"]
    assert [u["id"] for u in listed] == [user["id"]]
    assert (await api.get("/v1/users", params={"tenant_id": "tnt_other"})).json()["data"] == []
    audits = [m for m in await stream_messages(js, "TG_AUDIT") if m.get("action") == "user.created"]
    assert [a["target_id"] for a in audits] == [user["id"]]
    assert PASSWORD not in caplog.text + str(audits) + created.text


async def test_the_same_email_twice_is_409_user_exists(api) -> None:
    assert (await api.post("/v1/users", json={"email": "ada@example.com", "password": PASSWORD})).status_code == 201
    again = await api.post("/v1/users", json={"email": "ADA@example.com", "password": "another " + PASSWORD})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "user_exists"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"email": "ada@example.com", "password": "short pw"}, "at least 12"),
        ({"email": "ada", "password": PASSWORD}, "not an email address"),
        ({"email": "ada@example.com", "password": PASSWORD, "role": "root"}, "role must be"),
        ({"email": "ada@example.com", "password": 12345678901234}, "password"),
        ({"email": "ada@example.com", "password": PASSWORD, "extra": 1}, "extra"),
    ],
)
async def test_bad_users_are_422_and_never_repeat_the_password(api, body, says) -> None:
    answer = await api.post("/v1/users", json=body)
    assert answer.status_code == 422, answer.text
    assert says in answer.json()["error"]["message"]
    assert str(body["password"]) not in answer.text


async def test_an_unknown_tenant_is_404(api) -> None:
    answer = await api.post("/v1/users", json={"email": "a@example.com", "password": PASSWORD, "tenant_id": "tnt_x"})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "tenant_not_found"


async def test_users_need_the_admin_key(api) -> None:
    for method, kwargs in (("GET", {}), ("POST", {"json": {"email": "a@example.com", "password": PASSWORD}})):
        answer = await api.request(method, "/v1/users", headers={"Authorization": "Bearer nope"}, **kwargs)
        assert answer.status_code == 401

"""The HTTP edge: admin key, error shape, health and readiness, start-up configuration."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from tollgate_metering.app import create_app
from tollgate_metering.domain.errors import ConfigurationError
from tollgate_metering.settings import Settings
from tollgate_metering.testing import grant_state, serving
from tollgate_servicekit.testing import eventually

Client = Callable[[FastAPI], httpx.AsyncClient]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-key", "Basic dGVzdC1hZG1pbi1rZXk=", "Bearer "])
async def test_the_usage_api_refuses_a_missing_or_wrong_admin_key(
    settings: Settings, client_for: Client, authorization: str | None
) -> None:
    app = create_app(settings)
    async with serving(app), client_for(app) as client:
        headers = {} if authorization is None else {"Authorization": authorization}
        client.headers.pop("Authorization")
        response = await client.get("/v1/usage/grt_x", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credential"
    assert "test-admin-key-for-metering" not in response.text
    assert response.headers["www-authenticate"] == "Bearer"


async def test_an_unknown_grant_is_404_and_a_known_one_without_usage_is_zero(
    settings: Settings, bus: Any, client_for: Client
) -> None:
    grant = grant_state(budget_micro_usd=2_500_000, max_requests=10)
    await bus.publish(grant)
    app = create_app(settings)
    async with serving(app), client_for(app) as client:
        unknown = await client.get("/v1/usage/grt_never_heard_of")
        known = await client.get(f"/v1/usage/{grant.grant_id}")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "grant_not_found"
    assert known.json() == {
        "grant_id": grant.grant_id,
        "requests": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost_micro_usd": 0,
        "cost_usd": "0.000000",
        "budget_micro_usd": 2_500_000,
        "max_requests": 10,
        "exhausted": False,
        "grant_known": True,
    }


async def test_unknown_routes_answer_in_the_error_shape(settings: Settings, client_for: Client) -> None:
    app = create_app(settings)
    async with serving(app), client_for(app) as client:
        response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_health_and_readiness_once_started(settings: Settings, client_for: Client) -> None:
    app = create_app(settings)
    async with serving(app), client_for(app) as client:
        health, ready = await client.get("/healthz"), await client.get("/readyz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_without_nats_it_is_alive_but_not_ready_and_stops_cleanly(
    settings: Settings, client_for: Client, fresh_nats: Any
) -> None:
    fresh_nats.stop()
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_for(app) as client:
        health = await client.get("/healthz")
        # Let the start-up reach its NATS connect, whatever the database's speed.
        await eventually(lambda: app.state.runtime.startup.detail.startswith("waiting for NATS"), what="NATS step")
        ready = await client.get("/readyz")
        usage = await client.get("/v1/usage/grt_x")
    assert health.status_code == 200
    assert ready.status_code == 503
    assert ready.json() == {"status": "starting", "detail": "waiting for NATS"}
    assert usage.status_code == 503
    assert usage.json()["error"]["code"] == "unavailable"


async def test_the_prices_in_effect_are_listed(settings: Settings, client_for: Client) -> None:
    app = create_app(settings)
    async with serving(app), client_for(app) as client:
        body = (await client.get("/v1/prices")).json()
    assert {
        "provider": "openai",
        "model": "gpt-4o-mini*",
        "input_micro_usd_per_mtok": 150_000,
        "output_micro_usd_per_mtok": 600_000,
    } in body["data"]
    assert body["fallback"]["provider"] == "*"


def test_metering_refuses_to_start_without_an_admin_key() -> None:
    with pytest.raises(ConfigurationError):
        create_app(Settings(admin_key=None, admin_key_file=None))


def test_the_admin_key_can_come_from_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "admin.key"
    key_file.write_text("from-a-file\n")
    assert Settings(admin_key_file=key_file).resolved_admin_key() == SecretStr("from-a-file")
    with pytest.raises(ConfigurationError):
        Settings(admin_key_file=tmp_path / "missing.key").resolved_admin_key()


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_METERING_PORT", "9999")
    monkeypatch.setenv("TOLLGATE_METERING_ADMIN_KEY", "k")
    monkeypatch.setenv(
        "TOLLGATE_METERING_PRICES",
        '[{"provider": "mock", "model": "*", "input_micro_usd_per_mtok": 1, "output_micro_usd_per_mtok": 2}]',
    )
    settings = Settings()
    assert settings.port == 9999
    assert settings.prices[0].provider == "mock"


async def test_a_large_body_is_refused_before_it_is_read(settings: Settings, client_for: Client) -> None:
    app = create_app(settings.model_copy(update={"max_body_bytes": 1024}))
    async with serving(app), client_for(app) as client:
        response = await client.post("/v1/usage/grt_x", content=b"x" * 4096)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


async def test_a_huge_grant_id_is_not_repeated_in_the_404(settings: Settings, client_for: Client) -> None:
    app = create_app(settings)
    async with serving(app), client_for(app) as client:
        response = await client.get("/v1/usage/grt_" + "x" * 60_000)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "grant_not_found"
    assert len(response.text) < 300


async def test_invalid_input_is_422_in_the_error_shape(settings: Settings, client_for: Client) -> None:
    app = create_app(settings)
    async with serving(app), client_for(app) as client:
        response = await client.get("/v1/unknown-grants", params={"limit": "lots"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("url", "schema"),
    [
        ("postgresql+asyncpg://u@127.0.0.1/test", 'metering"; DROP SCHEMA public; --'),
        ("sqlite+aiosqlite://", "metering"),
        ("mysql://127.0.0.1/x", "metering"),
    ],
)
def test_a_database_setting_that_can_never_work_stops_the_start(url: str, schema: str) -> None:
    with pytest.raises(ConfigurationError):
        create_app(Settings(admin_key="k" * 20, database_url=url, database_schema=schema))

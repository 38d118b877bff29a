"""The shared HTTP edge: error bodies, the body limit, the admin guard, health routes (in-process, no socket)."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel

from tollgate_contracts import ErrorBody
from tollgate_servicekit.admin import admin_guard
from tollgate_servicekit.errors import StoreUnavailable
from tollgate_servicekit.health import health_router
from tollgate_servicekit.http import BodyLimit, clip, install_error_handlers

ADMIN_KEY = "tga_the-admin-key-for-tests-0123456789"
SECRET_INPUT = "sk-live-provider-key-must-never-be-echoed"


class NotFound(Exception):
    code = "grant_not_found"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class GrantGone(NotFound):
    code = "grant_revoked"


class Payload(BaseModel):
    name: str
    budget: int


def make_app(*, max_bytes: int = 1024, key: str | None = ADMIN_KEY) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app, statuses=[(GrantGone, 410), (NotFound, 404)])
    app.state.admin_key = key
    guard = admin_guard(lambda request: request.app.state.admin_key)
    ready: dict[str, str | None] = {"detail": "waiting for the database"}

    async def readiness() -> str | None:
        return ready["detail"]

    app.state.ready = ready
    app.include_router(health_router(readiness))

    @app.post("/items")
    async def create(payload: Payload) -> dict[str, str]:
        return {"name": payload.name}

    @app.post("/raw")
    async def raw(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.get("/grants/{grant_id}")
    async def grant(grant_id: str) -> None:
        raise NotFound(f"no grant {clip(grant_id)!r}")

    @app.get("/gone")
    async def gone() -> None:
        raise GrantGone("grant revoked")

    @app.get("/store")
    async def store() -> None:
        raise StoreUnavailable("database unavailable: OperationalError")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(f"bug while handling {SECRET_INPUT}")

    @app.get("/admin", dependencies=[Depends(guard)])
    async def admin() -> dict[str, bool]:
        return {"ok": True}

    app.add_middleware(BodyLimit, max_bytes=max_bytes)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = make_app()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as c:
        yield c


def error_of(response: httpx.Response) -> tuple[str, str]:
    body = ErrorBody.model_validate(response.json())
    return body.error.code, body.error.message


async def test_invalid_input_is_422_naming_the_field_without_echoing_the_value(client: httpx.AsyncClient) -> None:
    response = await client.post("/items", json={"name": "x", "budget": SECRET_INPUT})
    assert response.status_code == 422
    code, message = error_of(response)
    assert code == "invalid_request"
    assert message.startswith("budget: ")
    assert SECRET_INPUT not in response.text


async def test_several_problems_and_bad_json_are_one_line(client: httpx.AsyncClient) -> None:
    response = await client.post("/items", json={})
    assert error_of(response) == ("invalid_request", "name: Field required (and 1 more problem)")
    response = await client.post("/items", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert error_of(response) == ("invalid_request", "the request body is not valid JSON")


async def test_domain_errors_map_to_their_status_first_match_wins(client: httpx.AsyncClient) -> None:
    response = await client.get("/gone")
    assert response.status_code == 410 and error_of(response) == ("grant_revoked", "grant revoked")
    long_id = "g" * 60_000
    response = await client.get(f"/grants/{long_id}")
    assert response.status_code == 404
    code, message = error_of(response)
    assert code == "grant_not_found" and len(message) < 100 and long_id not in response.text


async def test_unavailable_is_503_with_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.get("/store")
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert error_of(response) == ("store_unavailable", "database unavailable: OperationalError")


async def test_an_unexpected_error_is_500_without_traceback_or_secret(client: httpx.AsyncClient) -> None:
    response = await client.get("/boom")
    assert response.status_code == 500
    assert error_of(response) == ("internal", "internal error")
    assert SECRET_INPUT not in response.text and "Traceback" not in response.text


async def test_framework_http_errors_keep_their_status_in_the_error_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404 and error_of(response)[0] == "not_found"
    response = await client.delete("/items")
    assert response.status_code == 405 and error_of(response)[0] == "method_not_allowed"


async def test_body_over_the_limit_is_refused_by_content_length_before_reading(client: httpx.AsyncClient) -> None:
    response = await client.post("/raw", content=b"x" * 2048)
    assert response.status_code == 413
    assert error_of(response) == ("body_too_large", "the request body is larger than the limit of 1024 bytes")
    assert (await client.post("/raw", content=b"x" * 1024)).json() == {"size": 1024}


async def test_streamed_body_over_the_limit_is_refused_while_counting(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 200

    response = await client.post("/raw", content=chunks())  # chunked: no Content-Length
    assert response.status_code == 413 and error_of(response)[0] == "body_too_large"
    response = await client.post("/items", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413 and error_of(response)[0] == "body_too_large"


async def test_body_limit_answers_for_a_raw_asgi_app_too() -> None:
    async def raw_app(scope: dict[str, object], receive: object, send: object) -> None:
        while (await receive())["more_body"]:  # type: ignore[operator]
            pass
        raise AssertionError("the limit should have stopped the read")

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 200

    transport = httpx.ASGITransport(app=BodyLimit(raw_app, max_bytes=1000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://raw") as raw:
        response = await raw.post("/", content=chunks())
    assert response.status_code == 413 and error_of(response)[0] == "body_too_large"


async def test_admin_guard_wants_the_bearer_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin", headers={"Authorization": f"Bearer {ADMIN_KEY}"})).json() == {"ok": True}
    for headers in (
        {},
        {"Authorization": ADMIN_KEY},
        {"Authorization": f"Basic {ADMIN_KEY}"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {ADMIN_KEY[:-1]}"},
        {"Authorization": f"Bearer {ADMIN_KEY}x"},
        {"Authorization": "Bearer " + "z" * len(ADMIN_KEY)},
    ):
        response = await client.get("/admin", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"] == "Bearer"
        assert error_of(response)[0] == "invalid_credential"
        assert ADMIN_KEY not in response.text


async def test_admin_guard_compares_in_constant_time(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    await client.get("/admin", headers={"Authorization": "Bearer short"})
    await client.get("/admin", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    # Digests of equal length whatever was sent: neither the key's length nor a shared prefix shows in the timing.
    assert compared == [(32, 32), (32, 32)]


async def test_admin_guard_is_503_while_the_key_is_not_loaded() -> None:
    app = make_app(key=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as c:
        response = await c.get("/admin", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 503 and error_of(response)[0] == "unavailable"


async def test_health_and_readiness() -> None:
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as c:
        assert (await c.get("/healthz")).json() == {"status": "ok"}
        response = await c.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {"status": "starting", "detail": "waiting for the database"}
        app.state.ready["detail"] = None
        response = await c.get("/readyz")
        assert response.status_code == 200 and response.json() == {"status": "ready"}


async def test_a_failing_readiness_check_is_503_not_500() -> None:
    async def broken() -> str | None:
        raise StoreUnavailable("database unavailable: OSError")

    app = FastAPI()
    app.include_router(health_router(broken))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as c:
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"] == "readiness check failed: StoreUnavailable: database unavailable: OSError"


async def test_validation_messages_clip_a_submitted_field_name() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/limit")
    async def limit(n: int) -> dict[str, int]:
        return {"n": n}

    @app.post("/strict")
    async def strict(payload: Strict) -> None:
        return None

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as c:
        response = await c.get("/limit", params={"n": SECRET_INPUT})
        assert response.status_code == 422 and error_of(response)[1].startswith("query.n: ")
        assert SECRET_INPUT not in response.text
        huge_key = "k" * 10_000
        response = await c.post("/strict", json={huge_key: 1})
        assert response.status_code == 422 and huge_key not in response.text
        assert len(error_of(response)[1]) < 300


class Strict(BaseModel):
    model_config = {"extra": "forbid"}


async def test_body_limit_lets_other_scopes_through() -> None:
    seen: list[str] = []

    async def inner(scope: dict[str, object], receive: object, send: object) -> None:
        seen.append(str(scope["type"]))

    await BodyLimit(inner, max_bytes=1)({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]

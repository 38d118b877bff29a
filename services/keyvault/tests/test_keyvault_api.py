"""The HTTP API and the bus together, against a real nats-server: state events, sealing, admin key, no leaks.

Auth creates the streams; keyvault only waits for them, so each test starts from a server that has them
(`streams`), except the one that shows keyvault waiting.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nats.aio.msg import Msg
from pydantic import SecretStr

from tollgate_contracts import CredentialState, CredentialStatus, ErrorCode, SealReply, SealRequest, TenantStatus
from tollgate_contracts.bus import ensure_streams
from tollgate_contracts.streams import ALL_STREAMS, TENANTS
from tollgate_keyvault.app import create_app
from tollgate_keyvault.settings import Settings
from tollgate_keyvault.testing import publish_tenants, settings_for_tests, started, tenant_state
from tollgate_servicekit.keyring import new_kek_text
from tollgate_servicekit.natsserver import NatsServer
from tollgate_servicekit.testing import eventually

CreateStreams = Callable[[str], Any]

ADMIN = "tga_test-admin-key"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
PROVIDER_KEY = "sk-proj-Very-Secret-Provider-Key-0042"


def _settings(nats_url: str, database: Any, **overrides: Any) -> Settings:
    return settings_for_tests(nats_url, database.url, database.schema, admin_key=ADMIN, **overrides)


@contextlib.asynccontextmanager
async def running(settings: Settings, **app_options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the app, once it is ready."""
    async with (
        started(create_app(settings, **app_options)) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://keyvault") as client,
    ):
        yield client


async def _create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    payload = {"tenant_id": "tnt_1", "provider": "openai", "api_key": PROVIDER_KEY, **body}
    response = await client.post("/v1/credentials", json=payload, headers=AUTH)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _seal(nc: Any, credential_id: str, public_key: str) -> SealReply:
    request = SealRequest(credential_id=credential_id, recipient_public_key=public_key, requester="proxy-test")
    msg = await nc.request(SealRequest.subject, request.model_dump_json().encode(), timeout=5)
    return SealReply.model_validate_json(msg.data)


@pytest.fixture
async def nc(fresh_nats: NatsServer) -> AsyncIterator[Any]:
    client = await nats.connect(fresh_nats.url)
    yield client
    await client.drain()


async def test_creating_a_credential_publishes_its_state_and_a_sealed_key_opens_to_it(
    streams: NatsServer,
    database: Any,
    nc: Any,
    recipient: X25519PrivateKey,
    public_key_of: Callable[[X25519PrivateKey], str],
    unseal: Callable[..., bytes],
) -> None:
    async with running(_settings(streams.url, database)) as client:
        created = await _create(client)
        assert created["id"].startswith("crd_")
        assert {k: created[k] for k in ("tenant_id", "provider", "api_style", "base_url", "last4", "status")} == {
            "tenant_id": "tnt_1",
            "provider": "openai",
            "api_style": "openai",
            "base_url": "https://api.openai.com",
            "last4": "0042",
            "status": "active",
        }
        assert created["version"] == 1

        raw = await nc.jetstream().get_last_msg("TG_CREDENTIALS", f"credential.state.v1.{created['id']}")
        state = CredentialState.model_validate_json(raw.data)
        assert (state.credential_id, state.state_version, state.status) == (created["id"], 1, CredentialStatus.ACTIVE)

        reply = await _seal(nc, created["id"], public_key_of(recipient))
        assert reply.ok and reply.state_version == 1
        key = unseal(recipient, created["id"], reply.ephemeral_public_key, reply.nonce, reply.ciphertext)
        assert key == PROVIDER_KEY.encode()


async def test_a_deleted_credential_is_published_as_deleted_and_no_longer_sealed(
    streams: NatsServer,
    sqlite_database: Any,
    nc: Any,
    recipient: X25519PrivateKey,
    public_key_of: Callable[[X25519PrivateKey], str],
) -> None:
    async with running(_settings(streams.url, sqlite_database)) as client:
        created = await _create(client)
        response = await client.delete(f"/v1/credentials/{created['id']}", headers=AUTH)
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["version"]) == ("deleted", 2)
        raw = await nc.jetstream().get_last_msg("TG_CREDENTIALS", f"credential.state.v1.{created['id']}")
        state = CredentialState.model_validate_json(raw.data)
        assert (state.state_version, state.status) == (2, CredentialStatus.DELETED)

        reply = await _seal(nc, created["id"], public_key_of(recipient))
        assert (reply.ok, reply.error) == (False, ErrorCode.CREDENTIAL_NOT_FOUND)
        unknown = await _seal(nc, "crd_nope", public_key_of(recipient))
        assert (unknown.ok, unknown.error) == (False, ErrorCode.CREDENTIAL_NOT_FOUND)
        missing = await client.delete("/v1/credentials/crd_nope", headers=AUTH)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "credential_not_found"


async def test_malformed_seal_requests_get_invalid_request_and_the_responder_keeps_answering(
    streams: NatsServer,
    sqlite_database: Any,
    nc: Any,
    recipient: X25519PrivateKey,
    public_key_of: Callable[[X25519PrivateKey], str],
) -> None:
    async with running(_settings(streams.url, sqlite_database)) as client:
        created = await _create(client)
        for payload in (
            b"",
            b"{",
            b'{"credential_id": "crd_x"}',
            json.dumps({"credential_id": created["id"], "recipient_public_key": "AAAA", "requester": "p"}).encode(),
        ):
            msg = await nc.request(SealRequest.subject, payload, timeout=5)
            reply = SealReply.model_validate_json(msg.data)
            assert (reply.ok, reply.error) == (False, ErrorCode.INVALID_REQUEST)
        assert (await _seal(nc, created["id"], public_key_of(recipient))).ok


async def test_admin_routes_need_the_admin_key(streams: NatsServer, sqlite_database: Any) -> None:
    async with running(_settings(streams.url, sqlite_database)) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {ADMIN}"}):
            response = await client.get("/v1/credentials", headers=headers)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "invalid_credential"
            assert response.headers["www-authenticate"] == "Bearer"
        response = await client.post(
            "/v1/credentials", json={"tenant_id": "t", "provider": "openai", "api_key": PROVIDER_KEY}
        )
        assert response.status_code == 401
        assert (await client.get("/v1/credentials", headers=AUTH)).json() == {"data": []}
        assert (await client.get("/healthz")).json() == {"status": "ok"}


async def test_bad_input_is_refused_in_the_shared_error_shape_without_echoing_the_key(
    streams: NatsServer, sqlite_database: Any
) -> None:
    async with running(_settings(streams.url, sqlite_database)) as client:
        invalid = await client.post(
            "/v1/credentials", json={"provider": "openai", "api_key": PROVIDER_KEY}, headers=AUTH
        )
        assert invalid.status_code == 422
        assert invalid.json()["error"]["code"] == "invalid_request"
        assert "tenant_id" in invalid.json()["error"]["message"]
        custom = await client.post(
            "/v1/credentials", json={"tenant_id": "t", "provider": "groq", "api_key": PROVIDER_KEY}, headers=AUTH
        )
        assert custom.status_code == 422
        assert custom.json() == {
            "error": {"code": "invalid_request", "message": "base_url is required for provider 'groq'"}
        }
        spaced = await client.post(
            "/v1/credentials",
            json={"tenant_id": "t", "provider": "openai", "api_key": f"{PROVIDER_KEY} x"},
            headers=AUTH,
        )
        assert spaced.status_code == 422
        wrong_type = await client.post(
            "/v1/credentials", json={"tenant_id": "t", "provider": "openai", "api_key": [PROVIDER_KEY]}, headers=AUTH
        )
        assert wrong_type.status_code == 422
        for response in (invalid, custom, spaced, wrong_type):
            assert PROVIDER_KEY not in response.text


async def test_listing_shows_credentials_per_tenant_but_never_the_key(
    streams: NatsServer, sqlite_database: Any
) -> None:
    async with running(_settings(streams.url, sqlite_database)) as client:
        first = await _create(client)
        await _create(client, tenant_id="tnt_2", provider="anthropic")
        listed = await client.get("/v1/credentials", headers=AUTH)
        assert [c["tenant_id"] for c in listed.json()["data"]] == ["tnt_1", "tnt_2"]
        assert listed.json()["data"][1]["api_style"] == "anthropic"
        only = await client.get("/v1/credentials", params={"tenant_id": "tnt_1"}, headers=AUTH)
        assert [c["id"] for c in only.json()["data"]] == [first["id"]]
        one = await client.get(f"/v1/credentials/{first['id']}", headers=AUTH)
        assert one.json()["id"] == first["id"]
        for response in (listed, only, one):
            assert PROVIDER_KEY not in response.text
            assert PROVIDER_KEY[:-4] not in response.text


async def test_the_provider_key_never_reaches_logs_or_the_bus(
    streams: NatsServer,
    sqlite_database: Any,
    nc: Any,
    recipient: X25519PrivateKey,
    public_key_of: Callable[[X25519PrivateKey], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[Msg] = []

    async def capture(msg: Msg) -> None:
        seen.append(msg)

    await nc.subscribe(">", cb=capture)
    await nc.flush()
    async with running(_settings(streams.url, sqlite_database)) as client:
        created = await _create(client)
        assert (await _seal(nc, created["id"], public_key_of(recipient))).ok
        await client.post(
            "/v1/credentials", json={"tenant_id": "t", "provider": "groq", "api_key": PROVIDER_KEY}, headers=AUTH
        )
        await client.delete(f"/v1/credentials/{created['id']}", headers=AUTH)
        await nc.flush()
    subjects = {msg.subject for msg in seen}
    assert f"credential.state.v1.{created['id']}" in subjects
    assert "audit.keyvault.v1" in subjects
    assert "keyvault.seal.v1" in subjects
    secret = PROVIDER_KEY.encode()
    for msg in seen:
        assert secret not in msg.data and secret[:-4] not in msg.data, msg.subject
        assert PROVIDER_KEY not in json.dumps(msg.headers or {})
    assert caplog.records, "expected the service to log something"
    assert PROVIDER_KEY[:-4] not in caplog.text
    for record in caplog.records:
        assert PROVIDER_KEY[:-4] not in record.getMessage()


async def test_a_restart_republishes_every_credential_on_a_fresh_bus(
    streams: NatsServer, sqlite_database: Any, tmp_path: Path, create_streams: CreateStreams
) -> None:
    kek = SecretStr(new_kek_text())
    async with running(_settings(streams.url, sqlite_database, kek=kek)) as client:
        created = await _create(client)
    with NatsServer(tmp_path / "other-nats") as other:
        await create_streams(other.url)
        async with running(_settings(other.url, sqlite_database, kek=kek)):
            nc = await nats.connect(other.url)
            try:
                raw = await nc.jetstream().get_last_msg("TG_CREDENTIALS", f"credential.state.v1.{created['id']}")
            finally:
                await nc.drain()
    assert raw.data is not None
    assert CredentialState.model_validate_json(raw.data).state_version == 1


async def test_kek_rotation_rewraps_at_start_so_the_old_kek_can_be_retired(
    streams: NatsServer,
    sqlite_database: Any,
    nc: Any,
    recipient: X25519PrivateKey,
    public_key_of: Callable[[X25519PrivateKey], str],
    unseal: Callable[..., bytes],
) -> None:
    k1, k2 = new_kek_text(), new_kek_text()
    async with running(_settings(streams.url, sqlite_database, kek=SecretStr(k1), kek_id="k1")) as client:
        created = await _create(client)
    rotated = _settings(
        streams.url, sqlite_database, kek=SecretStr(k2), kek_id="k2", previous_keks=SecretStr(f"k1:{k1}")
    )
    async with running(rotated):
        pass
    async with running(_settings(streams.url, sqlite_database, kek=SecretStr(k2), kek_id="k2")):
        reply = await _seal(nc, created["id"], public_key_of(recipient))
    assert reply.ok and reply.state_version == 1
    assert unseal(recipient, created["id"], reply.ephemeral_public_key, reply.nonce, reply.ciphertext) == (
        PROVIDER_KEY.encode()
    )


@pytest.mark.integration  # starts a nats-server of its own, late
async def test_readyz_says_what_it_waits_for_the_bus_then_the_streams(
    sqlite_database: Any, tmp_path: Path, create_streams: CreateStreams
) -> None:
    server = NatsServer(tmp_path / "late-nats")
    app = create_app(_settings(server.url, sqlite_database))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://keyvault") as client:

                async def detail() -> str:
                    response = await client.get("/readyz")
                    assert response.status_code == 503 and response.json()["status"] == "starting"
                    text: str = response.json()["detail"]
                    return text

                await eventually(lambda: _waits(detail, "waiting for bus"), what="keyvault to wait for the bus")
                server.start()

                # The step's detail names the missing stream once its first attempt has failed, not before.
                async def names_the_stream() -> bool:
                    text = await detail()
                    return text.startswith("waiting for streams") and "TG_CREDENTIALS" in text

                await eventually(names_the_stream, what="keyvault to say it waits for TG_CREDENTIALS")
                await create_streams(server.url)

                async def ready() -> bool:
                    return (await client.get("/readyz")).json() == {"status": "ready"}

                await eventually(ready, what="keyvault /readyz")
    finally:
        server.stop()


async def test_it_is_not_ready_until_the_tenants_stream_exists(fresh_nats: NatsServer, sqlite_database: Any) -> None:
    nc = await nats.connect(fresh_nats.url)
    try:
        await ensure_streams(nc.jetstream(), tuple(spec for spec in ALL_STREAMS if spec is not TENANTS))
        app = create_app(_settings(fresh_nats.url, sqlite_database))
        async with app.router.lifespan_context(app):
            runtime = app.state.runtime

            async def waits_for_tenants() -> bool:
                detail = await runtime.readiness()
                return bool(detail and detail.startswith("waiting for streams") and "TG_TENANTS" in detail)

            await eventually(waits_for_tenants, what="keyvault to wait for TG_TENANTS")
            await ensure_streams(nc.jetstream(), (TENANTS,))
            await eventually(lambda: _is_ready(runtime), what="keyvault ready once TG_TENANTS exists")
    finally:
        await nc.drain()


async def _is_ready(runtime: Any) -> bool:
    return await runtime.readiness() is None


async def _waits(detail: Callable[[], Any], prefix: str) -> bool:
    text: str = await detail()
    return text.startswith(prefix)


async def test_as_its_own_least_privileged_nats_user_it_starts_publishes_and_answers_the_proxy(
    streams: NatsServer,
    sqlite_database: Any,
    recipient: X25519PrivateKey,
    public_key_of: Callable[[X25519PrivateKey], str],
    unseal: Callable[..., bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    user, password = streams.credentials("keyvault")
    settings = _settings(streams.address, sqlite_database, nats_user=user, nats_password=SecretStr(password))
    caplog.set_level(logging.DEBUG)
    async with running(settings) as client:
        created = await _create(client)
        proxy = await nats.connect(streams.url_for("proxy"), inbox_prefix=b"_INBOX.proxy")
        try:
            reply = await _seal(proxy, created["id"], public_key_of(recipient))
        finally:
            await proxy.drain()
        assert unseal(recipient, created["id"], reply.ephemeral_public_key, reply.nonce, reply.ciphertext) == (
            PROVIDER_KEY.encode()
        )
    assert "Permissions Violation" not in caplog.text
    assert password not in caplog.text


async def test_a_credential_for_an_unknown_tenant_is_refused_until_auth_has_published_it(
    streams: NatsServer, sqlite_database: Any
) -> None:
    body = {"tenant_id": "tnt_new", "provider": "openai", "api_key": PROVIDER_KEY}
    async with running(_settings(streams.url, sqlite_database)) as client:
        unknown = await client.post("/v1/credentials", json=body, headers=AUTH)
        assert unknown.status_code == 404
        assert unknown.json() == {"error": {"code": "tenant_not_found", "message": "tenant tnt_new not found"}}
        long_id = await client.post("/v1/credentials", json={**body, "tenant_id": "t" * 128}, headers=AUTH)
        assert long_id.status_code == 404 and "t" * 65 not in long_id.text, "the id is clipped"
        assert (await client.get("/v1/credentials", headers=AUTH)).json() == {"data": []}

        await publish_tenants(streams.url, tenant_state("tnt_new"))
        created = await client.post("/v1/credentials", json=body, headers=AUTH)
        assert created.status_code == 201, created.text
        assert created.json()["tenant_id"] == "tnt_new"

        # The last state counts: a tenant auth has since disabled gets no new credential.
        await publish_tenants(streams.url, tenant_state("tnt_new", TenantStatus.DISABLED, version=2))
        disabled = await client.post("/v1/credentials", json=body, headers=AUTH)
        assert disabled.status_code == 422
        assert disabled.json() == {"error": {"code": "tenant_disabled", "message": "tenant tnt_new is disabled"}}
        for response in (unknown, long_id, created, disabled):
            assert PROVIDER_KEY not in response.text


@pytest.mark.parametrize("bad", ["tnt.new", "tnt_*", ">", "tnt new", "tnt\x01new"])
async def test_a_tenant_id_that_is_not_one_subject_token_is_invalid_input(
    streams: NatsServer, sqlite_database: Any, bad: str
) -> None:
    async with running(_settings(streams.url, sqlite_database)) as client:
        refused = await client.post(
            "/v1/credentials", json={"tenant_id": bad, "provider": "openai", "api_key": PROVIDER_KEY}, headers=AUTH
        )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_request"
    assert "plain subject token" in refused.json()["error"]["message"]


async def test_without_the_bus_a_credential_is_refused_as_unavailable_and_nothing_is_stored(
    streams: NatsServer, sqlite_database: Any
) -> None:
    async with running(_settings(streams.url, sqlite_database)) as client:
        streams.stop()
        try:
            refused = await client.post(
                "/v1/credentials",
                json={"tenant_id": "tnt_1", "provider": "openai", "api_key": PROVIDER_KEY},
                headers=AUTH,
            )
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == "bus_unavailable"
            assert "tenant" in refused.json()["error"]["message"]
            assert (await client.get("/v1/credentials", headers=AUTH)).json() == {"data": []}
        finally:
            streams.start()

        async def back() -> bool:
            return (await client.get("/readyz")).json() == {"status": "ready"}

        # Back on the bus, the same request goes through.
        await eventually(back, what="keyvault to reconnect")
        again = await client.post(
            "/v1/credentials", json={"tenant_id": "tnt_1", "provider": "openai", "api_key": PROVIDER_KEY}, headers=AUTH
        )
        assert again.status_code == 201, again.text


async def test_keyvault_stops_cleanly_while_its_bus_is_away(streams: NatsServer, sqlite_database: Any) -> None:
    async with running(_settings(streams.url, sqlite_database)) as client:
        streams.stop()

        async def away() -> bool:
            return (await client.get("/readyz")).status_code == 503

        await eventually(away, what="keyvault to notice the bus is away")
        # Leaving `running` now stops the lifespan while nats-py reconnects: a responder that cannot drain
        # must not fail the shutdown.

"""The egress guard at create time, through the HTTP API: a base URL that would send a provider key to this host,
the private network or the metadata service is refused with 422 and one short reason, and nothing is stored.

No test here makes traffic to any address: literals are judged without a connection, and names are answered by a
fixed resolver (`tollgate_keyvault.testing.fixed_resolver`) instead of DNS.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tollgate_keyvault.app import create_app
from tollgate_keyvault.domain.errors import ConfigurationError
from tollgate_keyvault.settings import Settings
from tollgate_keyvault.testing import fixed_resolver, settings_for_tests, started
from tollgate_servicekit.keyring import new_kek_text
from tollgate_servicekit.natsserver import NatsServer

ADMIN = "tga_egress-test-admin-key"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
PROVIDER_KEY = "sk-egress-Very-Secret-Provider-Key-0042"
ALLOWED_PORT = 18_093  # never listened on: an allow-listed URL is accepted without being contacted
RESOLVER = fixed_resolver(
    {
        "rebind.example.com": ["203.0.113.7"],  # documentation range: not public
        "inside.example.com": ["93.184.215.14", "10.1.2.3"],  # one private answer is enough to refuse
        "api.example.com": ["93.184.215.14"],
    }
)

REFUSED_HOSTS = [
    "127.1",
    "2130706433",
    "0x7f000001",
    "[::ffff:127.0.0.1]",
    "127.0.0.1",
    "169.254.169.254",
    "10.0.0.1",
    "192.168.1.1",
    "localhost",
    "[::1]",
    "0.0.0.0",
]


def _settings(nats_url: str, database: Any, **overrides: Any) -> Settings:
    allow = {"egress_allow": [f"127.0.0.1:{ALLOWED_PORT}"]}
    return settings_for_tests(nats_url, database.url, database.schema, admin_key=ADMIN, **allow, **overrides)


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the app (names resolved by RESOLVER), once it is ready."""
    async with (
        started(create_app(settings, resolver=RESOLVER)) as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://keyvault") as client,
    ):
        yield client


async def _create(client: httpx.AsyncClient, base_url: str) -> httpx.Response:
    body = {"tenant_id": "tnt_1", "provider": "custom", "api_key": PROVIDER_KEY, "base_url": base_url}
    return await client.post("/v1/credentials", json=body, headers=AUTH)


def _assert_refused(response: httpx.Response, submitted: str) -> str:
    assert response.status_code == 422, (submitted, response.text)
    error = response.json()["error"]
    assert error["code"] == "invalid_request", submitted
    message: str = error["message"]
    assert message.startswith("base_url refused: "), (submitted, message)
    assert len(message) < 160 and "\n" not in message, (submitted, message)
    assert submitted not in message and "/secret-path" not in message, (submitted, message)
    assert PROVIDER_KEY not in response.text
    return message


async def test_every_spelling_of_a_local_private_or_metadata_address_is_refused_at_create(
    streams: NatsServer, sqlite_database: Any
) -> None:
    async with running(_settings(streams.url, sqlite_database)) as client:
        for host in REFUSED_HOSTS:
            for url in (f"https://{host}/secret-path", f"http://{host}:{ALLOWED_PORT + 1}/secret-path"):
                _assert_refused(await _create(client, url), url)
        # Only the allow-listed port is: the same host on http's own port 80 is not.
        _assert_refused(await _create(client, "http://127.0.0.1/secret-path"), "http://127.0.0.1/secret-path")
        assert (await client.get("/v1/credentials", headers=AUTH)).json() == {"data": []}


async def test_names_are_judged_by_every_address_they_resolve_to(streams: NatsServer, sqlite_database: Any) -> None:
    async with running(_settings(streams.url, sqlite_database)) as client:
        for url in ("https://rebind.example.com/secret-path", "https://inside.example.com/secret-path"):
            message = _assert_refused(await _create(client, url), url)
            assert "not public" in message and "10.1.2.3" not in message
        unknown = _assert_refused(await _create(client, "https://nowhere.example.com"), "https://nowhere.example.com")
        assert "could not be resolved" in unknown
        public = await _create(client, "https://api.example.com/v1")
        assert public.status_code == 201, public.text
        assert public.json()["base_url"] == "https://api.example.com"


async def test_urls_with_credentials_or_other_schemes_are_refused_without_echoing_them(
    streams: NatsServer, sqlite_database: Any
) -> None:
    async with running(_settings(streams.url, sqlite_database)) as client:
        with_password = "https://user:hunter2-password@api.example.com"
        response = await _create(client, with_password)
        assert response.status_code == 422
        assert "hunter2-password" not in response.text and "user:" not in response.text
        plain_http = _assert_refused(await _create(client, "http://api.example.com"), "http://api.example.com")
        assert "https" in plain_http


async def test_an_allow_listed_loopback_host_and_port_is_accepted_in_any_spelling(
    streams: NatsServer, sqlite_database: Any
) -> None:
    async with running(_settings(streams.url, sqlite_database)) as client:
        for url in (f"http://127.0.0.1:{ALLOWED_PORT}", f"http://127.1:{ALLOWED_PORT}/v1"):
            response = await _create(client, url)
            assert response.status_code == 201, (url, response.text)
        listed = (await client.get("/v1/credentials", headers=AUTH)).json()["data"]
        assert [c["base_url"] for c in listed] == [f"http://127.0.0.1:{ALLOWED_PORT}", f"http://127.1:{ALLOWED_PORT}"]


async def test_the_built_in_provider_roots_are_not_resolved_at_create(
    streams: NatsServer, sqlite_database: Any
) -> None:
    # api.openai.com is ours, not the caller's; the fixed resolver does not know it, so resolving it would refuse.
    async with running(_settings(streams.url, sqlite_database)) as client:
        body = {"tenant_id": "tnt_1", "provider": "openai", "api_key": PROVIDER_KEY}
        response = await client.post("/v1/credentials", json=body, headers=AUTH)
        assert response.status_code == 201, response.text


def test_the_allow_list_comes_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLGATE_KEYVAULT_EGRESS_ALLOW", " 127.0.0.1:8090, [::1]:9 ,")
    assert Settings().egress_allow == ["127.0.0.1:8090", "[::1]:9"]
    monkeypatch.delenv("TOLLGATE_KEYVAULT_EGRESS_ALLOW")
    assert Settings().egress_allow == []


def test_a_malformed_allow_list_entry_stops_the_start(tmp_path: Any) -> None:
    settings = Settings(
        admin_key=SecretStr(ADMIN),
        kek=SecretStr(new_kek_text()),
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'kv.db'}",
        egress_allow=["127.0.0.1"],
    )
    with pytest.raises(ConfigurationError, match="egress allow-list entry"):
        create_app(settings)

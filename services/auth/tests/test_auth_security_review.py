"""Security review findings, each pinned by a test: redirect URI matching (RFC 8252 §7.3 lets only the port of a
loopback redirect vary), what registration and client metadata documents accept as redirect URIs, and the
metadata document fetch's overall deadline."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tollgate_auth.adapters.db import SqlStore
from tollgate_auth.adapters.oauth_store import SqlOAuthStore
from tollgate_auth.app import create_app
from tollgate_auth.oauth import documents
from tollgate_auth.oauth.documents import DocumentRefused, MetadataDocuments, _client_of
from tollgate_auth.oauth.models import RefreshToken, redirect_matches
from tollgate_auth.testing import random_keyring
from tollgate_servicekit.testing import FixedClock

from .conftest import running
from .test_auth_oauth_flow import PUBLIC_URL, REDIRECT

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_only_the_port_of_a_loopback_redirect_may_vary() -> None:
    registered = "http://127.0.0.1/callback"
    assert redirect_matches(registered, "http://127.0.0.1:51234/callback")
    assert redirect_matches("http://[::1]:80/callback", "http://[::1]:6000/callback")
    # The user information is part of the authority: it must match as registered, like everything but the port.
    assert not redirect_matches(registered, "http://attacker@127.0.0.1:51234/callback")
    assert not redirect_matches(registered, "http://a:b@127.0.0.1/callback")
    assert not redirect_matches(registered, "http://127.0.0.1:51234/callback/../x")


BAD_REDIRECTS = [
    "http://app.example.com/callback",  # plain http off loopback: the code would travel in clear
    "http://localhost:8000/callback",  # RFC 8252 §8.3: a name, not a loopback IP literal
    "javascript:alert(1)//",
    "https:///nohost",
]


@pytest.fixture
async def http(make_settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(password_hash_time_cost=1, password_hash_memory_kib=64))
    async with running(app) as client:
        client.base_url = httpx.URL(PUBLIC_URL)
        yield client


@pytest.mark.parametrize("uri", BAD_REDIRECTS)
async def test_registration_refuses_redirects_that_are_not_https_or_loopback_http(http, uri) -> None:
    body = {"client_name": "X", "redirect_uris": [uri], "token_endpoint_auth_method": "none"}
    answer = await http.post("/oauth/register", json=body)
    assert answer.status_code == 400, answer.text
    # Authlib's own claims check refuses some first (invalid_client_metadata); ours the rest.
    assert answer.json()["error"] in {"invalid_redirect_uri", "invalid_client_metadata"}


async def test_registration_accepts_https_and_loopback_http(http) -> None:
    uris = ["https://app.example.com/cb", "http://127.0.0.1/cb", "http://[::1]:9000/cb"]
    answer = await http.post("/oauth/register", json={"redirect_uris": uris, "token_endpoint_auth_method": "none"})
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("uri", BAD_REDIRECTS)
def test_a_metadata_document_with_a_bad_redirect_is_refused(uri) -> None:
    url = "https://app.example.com/client.json"
    document = {"client_id": url, "redirect_uris": [uri], "token_endpoint_auth_method": "none"}
    with pytest.raises(DocumentRefused):
        _client_of(url, document, FixedClock(NOW))


async def test_a_document_dripped_slowly_is_refused_within_the_deadline(monkeypatch) -> None:
    """The timeout is for the whole fetch: httpx's applies per read, so a server sending one byte every few
    seconds would otherwise hold the fetch (and a worker thread) for hours."""

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n")
        try:
            while True:
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.05)
        except (ConnectionError, asyncio.CancelledError):
            writer.close()

    server = await asyncio.start_server(drip, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setattr(documents, "FETCH_TIMEOUT_SECONDS", 0.5)
    started = time.monotonic()
    try:
        with pytest.raises(DocumentRefused):
            await MetadataDocuments(FixedClock(NOW), loopback=True).client(f"http://127.0.0.1:{port}/client.json")
    finally:
        server.close()
    assert time.monotonic() - started < 3


def refresh(token_hash: str, family: str = "rtf_1") -> RefreshToken:
    return RefreshToken(
        token_hash=token_hash,
        family_id=family,
        client_id="cli_1",
        grant_id="grt_1",
        tenant_id="tnt_1",
        scope="",
        access_jti=f"jti_{token_hash[:4]}",
        access_expires_at=NOW + timedelta(minutes=15),
        created_at=NOW,
        expires_at=NOW + timedelta(days=30),
    )


async def test_a_token_rotated_into_a_family_revoked_meanwhile_is_born_revoked(database) -> None:
    """The reuse race: the legitimate refresh takes token 1, a replay of token 1 revokes the family, and only then
    does the winner store token 2. Token 2 must not outlive its family."""
    sql = await SqlStore.open(database.url, database.schema, keyring=random_keyring())
    store = SqlOAuthStore(sql.database)
    try:
        await store.add_refresh(refresh("1" * 64))
        assert (await store.take_refresh("1" * 64, NOW)).token is not None
        replay = await store.take_refresh("1" * 64, NOW)
        assert replay.reused_family == "rtf_1"
        await store.revoke_family("rtf_1", NOW)
        assert await store.add_refresh(refresh("2" * 64)) is False
        taken = await store.take_refresh("2" * 64, NOW)
        assert taken.token is None and taken.reused_family == "rtf_1"
        # A token of a live family is stored usable.
        assert await store.add_refresh(refresh("3" * 64, family="rtf_2")) is True
    finally:
        await sql.close()


ALLOWED_DESCRIPTION = re.compile(r"^[\x20\x21\x23-\x5b\x5d-\x7e]*$")
"""RFC 6749 §4.1.2.1 / §5.2: error_description is limited to these characters."""


async def test_error_descriptions_repeat_input_only_as_a_short_prefix(http) -> None:
    """Authlib writes the submitted redirect_uri or response_type into error_description; an attacker could put
    a page of text (or markup) there that the client, or its user, then reads as the server's."""
    client = await http.post(
        "/oauth/register", json={"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
    )
    client_id = client.json()["client_id"]
    junk = "https://evil.example/" + "A" * 4000 + '"<b>\\'
    pushed = await http.post("/oauth/par", data={"client_id": client_id, "response_type": "code", "redirect_uri": junk})
    assert pushed.status_code == 400
    description = pushed.json()["error_description"]
    assert len(description) <= 200 and ALLOWED_DESCRIPTION.match(description), description
    params = {
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "response_type": "x" * 4000 + '"\\',
        "state": "s",
        "code_challenge": "c" * 43,
        "code_challenge_method": "S256",
    }
    answer = await http.get("/oauth/authorize", params=params)
    location = answer.headers.get("location")
    if location is not None:
        description = parse_qs(urlsplit(location).query).get("error_description", [""])[0]
        assert len(description) <= 200 and ALLOWED_DESCRIPTION.match(description), description
    else:
        assert "x" * 300 not in answer.text


async def test_a_redirect_uri_with_quotes_is_a_400_not_a_500(http) -> None:
    """Authlib's error constructor refuses its own description when it quotes `"` or `\\` from the request."""
    client = await http.post(
        "/oauth/register", json={"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
    )
    params = {"client_id": client.json()["client_id"], "redirect_uri": 'https://x.example/"', "response_type": "code"}
    answer = await http.get("/oauth/authorize", params=params)
    assert answer.status_code == 400
    assert "location" not in answer.headers


async def test_a_code_challenge_with_a_trailing_newline_is_refused(http) -> None:
    """RFC 7636 §4.2: 43-128 characters of the unreserved set; Authlib's pattern ends in `$`, which in Python also
    matches before a final newline."""
    client = await http.post(
        "/oauth/register", json={"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}
    )
    body = {"client_id": client.json()["client_id"], "response_type": "code", "redirect_uri": REDIRECT}
    for challenge in ("c" * 43 + "\n", "c" * 42):
        pushed = await http.post(
            "/oauth/par", data={**body, "code_challenge": challenge, "code_challenge_method": "S256"}
        )
        assert (pushed.status_code, pushed.json()["error"]) == (400, "invalid_request"), pushed.text
    good = await http.post("/oauth/par", data={**body, "code_challenge": "c" * 43, "code_challenge_method": "S256"})
    assert good.status_code == 201, good.text


async def test_the_metadata_document_cache_is_bounded(monkeypatch) -> None:
    """Anyone can name a new document URL on every request: the cache must not grow with them."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        path = head.split(" ", 2)[1]
        body = json.dumps({"client_id": f"{base}{path}", "redirect_uris": ["http://127.0.0.1/cb"]}).encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n")
        writer.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    monkeypatch.setattr(documents, "MAX_CACHED_DOCUMENTS", 3)
    docs = MetadataDocuments(FixedClock(NOW), loopback=True)
    try:
        for i in range(5):
            assert (await docs.client(f"{base}/c{i}.json")).client_id == f"{base}/c{i}.json"
    finally:
        server.close()
    assert len(docs._cache) == 3

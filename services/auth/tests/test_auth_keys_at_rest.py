"""The signing private key at rest: never in clear in the SQLite file or the PostgreSQL row, a wrong KEK stops the
start-up loudly, a clear row from an older auth is encrypted in place, the KEK comes from the environment or a
private file."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr
from sqlalchemy import text

from tollgate_auth.adapters.db import SqlStore
from tollgate_auth.adapters.kek import load_signing_keyring
from tollgate_auth.adapters.signing import Ed25519Signer
from tollgate_auth.app import create_app
from tollgate_auth.domain import SigningKey
from tollgate_auth.domain.errors import ConfigurationError, KeyUnreadable, UnknownKek
from tollgate_auth.settings import Settings
from tollgate_auth.testing import random_keyring
from tollgate_servicekit.keyring import Kek, Keyring, new_kek_text
from tollgate_servicekit.testing import eventually

from .conftest import running

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def secret_forms(key: SigningKey) -> list[bytes]:
    """Every spelling of the private key an attacker would grep for: PEM, its base64 body, DER, raw, JWK `d`."""
    private = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
    der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    body = "".join(key.private_pem.strip().splitlines()[1:-1])
    return [
        key.private_pem.encode(),
        body.encode(),
        body[:24].encode(),
        der,
        raw,
        raw.hex().encode(),
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
    ]


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite+aiosqlite:///"))


def sqlite_bytes(url: str) -> bytes:
    """The database file and any journal or WAL beside it."""
    path = sqlite_path(url)
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


async def postgres_row(database) -> bytes:
    conn = await asyncpg.connect(database.url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        rows = await conn.fetch(f'SELECT * FROM "{database.schema}".signing_keys')  # noqa: S608 - the fixture's schema
    finally:
        await conn.close()
    return "\n".join("|".join(str(value) for value in row.values()) for row in rows).encode()


async def stored_bytes(database) -> bytes:
    return sqlite_bytes(database.url) if database.kind == "sqlite" else await postgres_row(database)


def assert_not_in(forms: list[bytes], blob: bytes) -> None:
    for form in forms:
        assert form not in blob, f"a form of the private key ({len(form)} bytes) is stored in clear"


async def test_the_private_key_is_in_no_form_in_the_database(database):
    keyring = random_keyring()
    key = Ed25519Signer().generate(NOW)
    store = await SqlStore.open(database.url, database.schema, keyring=keyring)
    try:
        await store.add_signing_key(key)
        [loaded] = await store.list_signing_keys()
    finally:
        await store.close()
    assert loaded == key
    blob = await stored_bytes(database)
    assert key.kid.encode() in blob  # the check looks where the row is
    assert b"tgwrap1:k1:" in blob
    assert_not_in(secret_forms(key), blob)


async def test_a_wrong_kek_fails_loudly_and_changes_nothing(database):
    key = Ed25519Signer().generate(NOW)
    store = await SqlStore.open(database.url, database.schema, keyring=random_keyring())
    await store.add_signing_key(key)
    await store.close()
    before = await stored_bytes(database) if database.kind == "postgresql" else None
    with pytest.raises(KeyUnreadable, match=f"signing key {key.kid} does not decrypt with KEK 'k1'"):
        await SqlStore.open(database.url, database.schema, keyring=random_keyring())
    with pytest.raises(UnknownKek, match="'k1'"):
        await SqlStore.open(database.url, database.schema, keyring=random_keyring("k2"))
    if before is not None:
        assert await stored_bytes(database) == before


async def clear_row_from_an_older_auth(database, key: SigningKey) -> None:
    """What auth wrote before encryption at rest: the PEM, in clear, in `private_pem`."""
    sqlite = database.kind == "sqlite"
    table = "signing_keys" if sqlite else f'"{database.schema}".signing_keys'
    jwk = ":jwk" if sqlite else "CAST(:jwk AS JSON)"
    insert = (
        f"INSERT INTO {table} (kid, alg, public_jwk, private_pem, status, created_at, updated_at, version) "  # noqa: S608
        f"VALUES (:kid, 'EdDSA', {jwk}, :pem, 'active', :now, :now, 1)"
    )
    values = {
        "kid": key.kid,
        "jwk": json.dumps(dict(key.public_jwk)),
        "pem": key.private_pem,
        "now": NOW.replace(tzinfo=None) if sqlite else NOW,
    }
    store = await SqlStore.open(database.url, database.schema, keyring=random_keyring())
    try:
        async with store.database.engine.begin() as conn:
            await conn.execute(text(insert), values)
    finally:
        await store.close()


async def test_a_clear_key_from_an_older_database_is_encrypted_in_place_at_start(database, caplog):
    key = Ed25519Signer().generate(NOW)
    await clear_row_from_an_older_auth(database, key)
    assert key.private_pem.encode() in await stored_bytes(database)  # the old state, as found on upgrade

    keyring = random_keyring()
    caplog.set_level(logging.INFO, logger="tollgate_auth")
    store = await SqlStore.open(database.url, database.schema, keyring=keyring)
    try:
        [loaded] = await store.list_signing_keys()
    finally:
        await store.close()
    assert (loaded.kid, loaded.private_pem) == (key.kid, key.private_pem)
    assert f"encrypted 1 signing key(s) found in clear in the database ({key.kid}) under KEK k1" in caplog.text
    assert key.private_pem not in caplog.text
    blob = await stored_bytes(database)
    assert b"tgwrap1:k1:" in blob
    assert_not_in(secret_forms(key), blob)
    token = Ed25519Signer().sign({"sub": "x"}, loaded)
    assert token.count(".") == 2


async def test_a_rotated_kek_re_encrypts_every_key_at_start(sqlite_database, caplog):
    old, new = Kek("k1", os.urandom(32)), Kek("k2", os.urandom(32))
    key = Ed25519Signer().generate(NOW)
    store = await SqlStore.open(sqlite_database.url, keyring=Keyring(old))
    await store.add_signing_key(key)
    await store.close()
    caplog.set_level(logging.INFO, logger="tollgate_auth")
    store = await SqlStore.open(sqlite_database.url, keyring=Keyring(new, [old]))
    await store.close()
    assert "re-encrypted 1 signing key(s) under KEK k2" in caplog.text
    assert b"tgwrap1:k2:" in sqlite_bytes(sqlite_database.url)
    store = await SqlStore.open(sqlite_database.url, keyring=Keyring(new))  # the old KEK may go now
    try:
        assert await store.list_signing_keys() == [key]
    finally:
        await store.close()


# --- Where the KEK comes from --------------------------------------------------------------------------------------


def test_a_missing_kek_file_is_generated_0600_in_a_0700_directory_and_read_back(tmp_path):
    path = tmp_path / "home" / "secrets" / "signing-kek"
    settings = Settings(signing_kek_file=path)
    first = load_signing_keyring(settings)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "home").stat().st_mode & 0o777 == 0o700
    again = load_signing_keyring(settings)
    assert (again.current.id, again.current.key) == (first.current.id, first.current.key) == ("k1", first.current.key)


def test_a_kek_file_rotates_by_appending_a_line(tmp_path):
    path = tmp_path / "signing-kek"
    old = load_signing_keyring(Settings(signing_kek_file=path)).current
    with path.open("a") as handle:
        handle.write(f"k2 {new_kek_text()}\n")
    keyring = load_signing_keyring(Settings(signing_kek_file=path))
    assert keyring.current.id == "k2" and keyring.get("k1").key == old.key


def test_the_kek_from_the_environment_and_previous_keks():
    current, previous = new_kek_text(), new_kek_text()
    keyring = load_signing_keyring(
        Settings(signing_kek=SecretStr(current), signing_kek_id="k2", signing_previous_keks=SecretStr(f"k1:{previous}"))
    )
    assert keyring.ids == ("k1", "k2") and keyring.current.id == "k2"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "no signing-key KEK configured: set TOLLGATE_AUTH_SIGNING_KEK"),
        ({"signing_kek": "c2hvcnQ"}, "TOLLGATE_AUTH_SIGNING_KEK: KEK 'k1' must be 32 bytes"),
        ({"signing_kek": "not base64 at all!"}, "TOLLGATE_AUTH_SIGNING_KEK: not base64url"),
        ({"signing_kek": new_kek_text(), "signing_kek_file": "x"}, "set either"),
        (
            {"signing_kek": new_kek_text(), "signing_previous_keks": "nocolon"},
            "TOLLGATE_AUTH_SIGNING_PREVIOUS_KEKS: expected",
        ),
    ],
)
def test_an_unusable_kek_setting_is_one_clear_line_without_the_value(fields, message):
    settings = Settings(**fields)
    with pytest.raises(ConfigurationError) as caught:
        load_signing_keyring(settings)
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)
    assert all(str(v) not in str(caught.value) for k, v in fields.items() if k != "signing_kek_file")


def test_create_app_refuses_to_build_without_a_kek(make_settings):
    with pytest.raises(ConfigurationError, match="no signing-key KEK configured"):
        create_app(make_settings(signing_kek=None))


def test_the_console_script_without_a_kek_exits_with_one_line(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TOLLGATE_AUTH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}",
        "TOLLGATE_AUTH_ADMIN_KEY": "tga_" + "x" * 43,
    }
    script = Path(sys.executable).parent / "tollgate-auth"
    done = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "tollgate-auth: no signing-key KEK configured: set TOLLGATE_AUTH_SIGNING_KEK (base64url of 32 random bytes) "
        "or TOLLGATE_AUTH_SIGNING_KEK_FILE (generated when missing)"
    ]


async def test_an_app_with_the_wrong_kek_never_becomes_ready_and_says_why(make_settings, admin_key, caplog):
    async with running(create_app(make_settings()), admin_key=admin_key) as client:
        kid = (await client.get("/.well-known/jwks.json")).json()["keys"][0]["kid"]
    wrong = new_kek_text()
    app = create_app(make_settings(signing_kek=SecretStr(wrong)))
    headers = {"Authorization": f"Bearer {admin_key}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://auth", headers=headers) as client:

            async def refused() -> bool:
                return "cannot start" in (await client.get("/readyz")).json().get("detail", "")

            await eventually(refused)
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert f"signing key {kid} does not decrypt with KEK 'k1'" in ready.json()["detail"]
            grants = await client.get("/v1/grants")
            assert (grants.status_code, grants.json()["error"]["code"]) == (503, "not_ready")
            assert "cannot start" in grants.json()["error"]["message"]
    # Logged once, at ERROR, by the supervisor: the traceback's frames, then the reason.
    [error] = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.startswith("background task start-up crashed:")
    assert error.endswith(
        f"KeyUnreadable: signing key {kid} does not decrypt with KEK 'k1': the KEK is not the one it was stored with, "
        "or the row was altered"
    )
    assert not [r for r in caplog.records if "retrying" in r.getMessage()]
    assert wrong not in caplog.text

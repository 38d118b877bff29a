"""Signing-key rotation through the app, against a real nats-server: on demand (the admin API) and on schedule."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from nats.js import JetStreamContext

from tollgate_auth.app import create_app
from tollgate_servicekit.testing import FixedClock, eventually

from .conftest import last_state, running, stream_messages

GRANT = {"provider": "openai", "models": ["gpt-4o-mini"], "expires_in_seconds": 3600}


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


async def verify(client: httpx.AsyncClient, token: str) -> dict[str, object]:
    """Verify `token` as an outside verifier would: the key named by its `kid` in the served JWKS."""
    keys = (await client.get("/.well-known/jwks.json", headers={"Authorization": ""})).json()["keys"]
    [jwk] = [k for k in keys if k["kid"] == kid_of(token)]
    claims: dict[str, object] = jwt.decode(
        token, jwt.PyJWK(jwk).key, algorithms=["EdDSA"], audience="http://127.0.0.1:8080"
    )
    return claims


async def first_state_time(js: JetStreamContext, kid: str) -> tuple[datetime, dict[str, object]]:
    """When JetStream stored the first state of `kid`, and that state."""
    info = await js.stream_info("TG_JWKS")
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg("TG_JWKS", seq)
        if msg.subject == f"jwks.state.v1.{kid}":
            assert msg.time is not None and msg.data is not None
            return msg.time, json.loads(msg.data)
    raise AssertionError(f"no state of {kid} on the bus")


async def test_rotate_keeps_old_tokens_verifying_and_new_tokens_carry_the_new_kid(
    make_settings, database, admin_key, js
):
    settings = make_settings(database_url=database.url, database_schema=database.schema or "auth")
    async with running(create_app(settings), admin_key=admin_key) as client:
        grant = (await client.post("/v1/grants", json=GRANT)).json()
        mint = f"/v1/grants/{grant['id']}/tokens"
        before = (await client.post(mint)).json()["access_token"]
        old_kid = kid_of(before)

        rotated = await client.post("/v1/signing-keys/rotate")
        assert rotated.status_code == 200, rotated.text
        body = rotated.json()
        new_kid = body["kid"]
        assert new_kid != old_kid
        assert [(k["kid"], k["status"]) for k in body["data"]] == [(new_kid, "active"), (old_kid, "retiring")]
        [old_row] = [k for k in body["data"] if k["kid"] == old_kid]
        assert old_row["not_after"] is not None

        # The JWKS, on HTTP and on the bus, carries both keys.
        jwks = (await client.get("/.well-known/jwks.json")).json()["keys"]
        assert sorted(k["kid"] for k in jwks) == sorted([old_kid, new_kid])
        assert "d" not in jwks[0] and "d" not in jwks[1]
        new_state = await last_state(js, "TG_JWKS", f"jwks.state.v1.{new_kid}")
        old_state = await last_state(js, "TG_JWKS", f"jwks.state.v1.{old_kid}")
        assert (new_state["status"], new_state["not_after"]) == ("active", None)
        assert old_state["status"] == "retired"
        assert datetime.fromisoformat(old_state["not_after"]) > datetime.now(UTC)

        # A token signed before the rotation still verifies by its kid; a new one carries the new kid.
        assert (await verify(client, before))["sub"] == grant["id"]
        after = (await client.post(mint)).json()["access_token"]
        assert kid_of(after) == new_kid
        assert (await verify(client, after))["sub"] == grant["id"]

        listed = (await client.get("/v1/signing-keys")).json()["data"]
        assert [k["kid"] for k in listed] == [new_kid, old_kid]
        assert "private" not in str(listed).lower()

    audit = [(m["action"], m["target_id"]) for m in await stream_messages(js, "TG_AUDIT")]
    assert ("signing_key.created", new_kid) in audit
    assert ("signing_key.retired", old_kid) in audit


async def test_the_new_key_is_on_the_bus_before_any_token_it_signed_is_returned(make_settings, admin_key, js):
    async with running(create_app(make_settings()), admin_key=admin_key) as client:
        grant = (await client.post("/v1/grants", json=GRANT)).json()
        returned: list[tuple[str, datetime]] = []
        stop = asyncio.Event()

        async def mint_all_along() -> None:
            # Tokens minted while the rotation is under way: each is noted with the moment it came back.
            while not stop.is_set():
                token = (await client.post(f"/v1/grants/{grant['id']}/tokens")).json()["access_token"]
                returned.append((kid_of(token), datetime.now(UTC)))

        minting = asyncio.create_task(mint_all_along())
        await eventually(lambda: len(returned) >= 3, what="tokens minted before the rotation")
        new_kid = (await client.post("/v1/signing-keys/rotate")).json()["kid"]
        await eventually(lambda: any(k == new_kid for k, _ in returned), what="a token with the new kid")
        stop.set()
        await minting

    first_with_new = next(at for kid, at in returned if kid == new_kid)
    stored_at, state = await first_state_time(js, new_kid)
    assert state["status"] == "active"
    assert stored_at < first_with_new, (stored_at, first_with_new)
    # Nothing came back signed by a key other than the two.
    assert {kid for kid, _ in returned} <= {returned[0][0], new_kid}


async def test_refused_while_the_bus_is_down_and_the_old_key_keeps_signing(make_settings, admin_key, fresh_nats):
    async with running(create_app(make_settings()), admin_key=admin_key) as client:
        grant = (await client.post("/v1/grants", json=GRANT)).json()
        old_kid = kid_of((await client.post(f"/v1/grants/{grant['id']}/tokens")).json()["access_token"])
        fresh_nats.stop()

        async def bus_gone() -> bool:
            return "event bus disconnected" in (await client.get("/readyz")).text

        await eventually(bus_gone, what="auth to notice the bus is gone")
        refused = await client.post("/v1/signing-keys/rotate")
        assert (refused.status_code, refused.json()["error"]["code"]) == (503, "bus_unavailable")
        listed = (await client.get("/v1/signing-keys")).json()["data"]
        assert [(k["kid"], k["status"]) for k in listed] == [(old_kid, "active")]


async def test_keys_rotate_on_schedule_and_a_retired_key_leaves_the_jwks(make_settings, admin_key, js):
    clock = FixedClock(datetime.now(UTC))
    settings = make_settings(
        signing_key_rotate_after_seconds=3600,
        signing_key_check_seconds=0.05,
        token_default_ttl_seconds=60,
        token_max_ttl_seconds=60,
        clock_skew_seconds=5,
    )
    app = create_app(settings, clock=clock)
    async with running(app, admin_key=admin_key) as client:
        # The background task checks every 50 ms; a direct check makes "nothing happens yet" deterministic.
        check = app.state.runtime.service.signing.check

        async def kids() -> list[str]:
            return [k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]]

        [first] = await kids()
        clock.advance(3599)
        await check()  # not due yet
        assert await kids() == [first]
        clock.advance(1)

        async def rotated() -> bool:
            return len(await kids()) == 2

        await eventually(rotated, what="the scheduled rotation")
        [second] = [k for k in await kids() if k != first]
        retired = await last_state(js, "TG_JWKS", f"jwks.state.v1.{first}")
        not_after = datetime.fromisoformat(retired["not_after"])
        # The overlap: the longest token (60 s) + the skew (5 s) + one check interval (rounded up to 1 s).
        assert not_after - clock.now() == timedelta(seconds=66)

        clock.set(not_after - timedelta(seconds=1))
        await check()
        assert sorted(await kids()) == sorted([first, second])
        clock.set(not_after)

        async def dropped() -> bool:
            return await kids() == [second]

        await eventually(dropped, what="the retired key to leave the JWKS")

        async def final_state_out() -> bool:
            state = await last_state(js, "TG_JWKS", f"jwks.state.v1.{first}")
            return datetime.fromisoformat(state["occurred_at"]) >= not_after

        await eventually(final_state_out, what="the retired key's final state on the bus")
        final = await last_state(js, "TG_JWKS", f"jwks.state.v1.{first}")
        assert final["status"] == "retired"


@pytest.mark.parametrize("path", ["/v1/signing-keys", "/v1/signing-keys/rotate"])
async def test_signing_keys_need_the_admin_key(client, path):
    method = client.get if path.endswith("keys") else client.post
    assert (await method(path, headers={"Authorization": "Bearer nope"})).status_code == 401


async def test_another_replica_serves_and_signs_with_the_new_key_without_waiting_for_its_check(
    make_settings, admin_key
):
    # Two auth replicas on one database and one bus; their scheduled checks are far away.
    settings = make_settings(signing_key_check_seconds=3600, jwks_reload_seconds=0)
    async with (
        running(create_app(settings), admin_key=admin_key) as first,
        running(create_app(settings), admin_key=admin_key) as second,
    ):
        grant = (await first.post("/v1/grants", json=GRANT)).json()
        before = (await second.post(f"/v1/grants/{grant['id']}/tokens")).json()["access_token"]
        new_kid = (await first.post("/v1/signing-keys/rotate")).json()["kid"]
        kids = [k["kid"] for k in (await second.get("/.well-known/jwks.json")).json()["keys"]]
        assert sorted(kids) == sorted([kid_of(before), new_kid])
        # Having re-read the keys, the second replica signs with the new one too; the old token still verifies.
        after = (await second.post(f"/v1/grants/{grant['id']}/tokens")).json()["access_token"]
        assert kid_of(after) == new_kid
        assert (await verify(second, before))["sub"] == grant["id"]

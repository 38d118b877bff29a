"""Start-up, readiness, restart and bus outages, with real NATS servers and a real database."""

from __future__ import annotations

import asyncio
import shutil

import httpx
import nats
from nats.js.errors import NotFoundError

from tollgate_auth.app import create_app
from tollgate_servicekit.natsserver import NatsServer
from tollgate_servicekit.tcp import free_port
from tollgate_servicekit.testing import eventually

from .conftest import READY_TIMEOUT, last_state, running, stream_messages

GRANT = {"provider": "openai", "models": ["gpt-4o-mini"]}


async def test_not_ready_until_the_bus_is_reachable_then_ready(make_settings, admin_key, tmp_path):
    late = NatsServer(tmp_path / "late-nats", port=free_port())  # locked: its credentials exist before it runs
    app = create_app(make_settings(nats_url=late.url))
    headers = {"Authorization": f"Bearer {admin_key}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://auth", headers=headers) as client:

            async def waiting_for_bus() -> bool:
                body = (await client.get("/readyz")).json()
                return "event bus" in body.get("detail", "")

            await eventually(waiting_for_bus, what="/readyz to name the event bus")
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["status"] == "starting"
            # What it waits for, and (once nats-py has reported it) why it is not there yet.
            assert ready.json()["detail"].startswith("waiting for the event bus")
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            refused = await client.get("/v1/grants")
            assert (refused.status_code, refused.json()["error"]["code"]) == (503, "not_ready")
            assert (await client.get("/.well-known/jwks.json")).status_code == 503

            with late:
                await asyncio.wait_for(app.state.runtime.wait_ready(), READY_TIMEOUT)
                assert (await client.get("/readyz")).json() == {"status": "ready"}
                assert (await client.post("/v1/grants", json=GRANT)).status_code == 201


async def test_a_restart_republishes_every_state_to_a_bus_that_never_saw_it(make_settings, admin_key, tmp_path):
    async with running(create_app(make_settings()), admin_key=admin_key) as client:
        acme = (await client.post("/v1/tenants", json={"name": "acme"})).json()
        kept = (await client.post("/v1/grants", json=GRANT)).json()
        revoked = (await client.post("/v1/grants", json=GRANT)).json()
        await client.post(f"/v1/grants/{revoked['id']}/revoke")
        key = (await client.post(f"/v1/grants/{kept['id']}/api-keys")).json()
        kid = (await client.get("/.well-known/jwks.json")).json()["keys"][0]["kid"]

    with NatsServer(tmp_path / "second-nats") as other:
        async with running(create_app(make_settings(nats_url=other.url)), admin_key=admin_key) as client:
            tenants = (await client.get("/v1/tenants")).json()["data"]
            assert [t["name"] for t in tenants] == ["default", "acme"]
            assert [k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]] == [kid]
        nc = await nats.connect(other.url)
        try:
            js = nc.jetstream()
            grants = {m["grant_id"]: m for m in await stream_messages(js, "TG_GRANTS")}
            assert {g: (m["status"], m["state_version"]) for g, m in grants.items()} == {
                kept["id"]: ("active", 1),
                revoked["id"]: ("revoked", 2),
            }
            [api_key] = await stream_messages(js, "TG_APIKEYS")
            assert (api_key["grant_id"], api_key["key_prefix"]) == (kept["id"], key["prefix"])
            assert (await last_state(js, "TG_JWKS", f"jwks.state.v1.{kid}"))["kid"] == kid
            published = {m["tenant_id"]: (m["name"], m["status"]) for m in await stream_messages(js, "TG_TENANTS")}
            assert published == {t["id"]: (t["name"], "active") for t in tenants}
            assert published[acme["id"]] == ("acme", "active")
        finally:
            await nc.close()


async def test_during_a_bus_outage_changes_are_refused_and_afterwards_state_is_republished(
    make_settings, admin_key, fresh_nats
):
    async with running(create_app(make_settings()), admin_key=admin_key) as client:
        grant_id = (await client.post("/v1/grants", json=GRANT)).json()["id"]
        fresh_nats.stop()

        async def bus_down() -> bool:
            return (await client.get("/readyz")).json().get("detail") == "event bus disconnected"

        await eventually(bus_down, what="/readyz to see the bus gone")
        refused = await client.post(f"/v1/grants/{grant_id}/revoke")
        assert (refused.status_code, refused.json()["error"]["code"]) == (503, "bus_unavailable")
        assert (await client.get(f"/v1/grants/{grant_id}")).json()["status"] == "active"

        # The server comes back having lost its store: auth recreates the streams and republishes.
        shutil.rmtree(fresh_nats.workdir / "jetstream")
        fresh_nats.start()
        nc = await nats.connect(fresh_nats.url)
        try:
            js = nc.jetstream()

            async def republished() -> bool:
                try:
                    return (await last_state(js, "TG_GRANTS", f"grant.state.v1.{grant_id}"))["state_version"] == 1
                except NotFoundError:
                    return False

            await eventually(republished, what="the grant republished", timeout=READY_TIMEOUT)
            assert (await client.get("/readyz")).json() == {"status": "ready"}
            revoked = await client.post(f"/v1/grants/{grant_id}/revoke")
            assert revoked.json()["status"] == "revoked"
            assert (await last_state(js, "TG_GRANTS", f"grant.state.v1.{grant_id}"))["status"] == "revoked"
        finally:
            await nc.close()

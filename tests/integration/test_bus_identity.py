"""Who may do what on the bus, shown with real processes: a locked test server, and the embedded stack.

Every server Tollgate starts is locked (tollgate_contracts.permissions rendered by tollgate_servicekit.natsserver):
no anonymous client, one user per service. Here each service identity is played by a raw nats-py client with
that service's credentials, and the server's own answers are the evidence: a refused publish or subscription is
reported to the client as a permissions violation (and logged by the server), a refused request gets no reply.

The expectations are written out below, independently of the permission set they check.
"""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
import nats.errors
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from nats.aio.client import Client
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError

from tollgate_contracts import GrantState, GrantStatus, SealReply, SealRequest, new_id
from tollgate_contracts.bus import ensure_streams
from tollgate_contracts.sealedbox import public_key_text, unseal
from tollgate_devstack.stack import Stack
from tollgate_servicekit.natsserver import NatsServer
from tollgate_servicekit.testing import eventually

pytestmark = pytest.mark.integration

SERVICES = ("auth", "keyvault", "metering", "proxy")
CLIENT_NAME = "bus-identity-test"
"""Our raw clients' name, so the server log tells their refusals from a service's."""

# State subject prefix → its stream and the one service that may publish it.
STATE = {
    "grant.state.v1": ("TG_GRANTS", "auth"),
    "apikey.state.v1": ("TG_APIKEYS", "auth"),
    "token.revoked.v1": ("TG_REVOKED_TOKENS", "auth"),
    "jwks.state.v1": ("TG_JWKS", "auth"),
    "credential.state.v1": ("TG_CREDENTIALS", "keyvault"),
    "budget.state.v1": ("TG_BUDGETS", "metering"),
    "breaker.state.v1": ("TG_BREAKERS", "metering"),
    "price.state.v1": ("TG_PRICES", "metering"),
    "tenant.state.v1": ("TG_TENANTS", "auth"),
}
PROMPT = [{"role": "user", "content": "Say something short"}]


@dataclass
class Identity:
    """A raw client connected as one user (with that user's inbox prefix), keeping what the server refused."""

    user: str
    nc: Client
    errors: list[str] = field(default_factory=list)

    async def refused(self, what: str) -> None:
        """Wait until the server has refused `what` (e.g. `publish to "grant.state.v1.x"`) to this client."""
        needle = f"permissions violation for {what}".lower()
        await eventually(lambda: any(needle in error.lower() for error in self.errors), what=f"{self.user}: {what}")


@asynccontextmanager
async def connected(url: str, user: str) -> AsyncIterator[Identity]:
    identity: Identity

    async def on_error(exc: Exception) -> None:
        identity.errors.append(str(exc))

    nc = await nats.connect(
        url,
        name=CLIENT_NAME,
        inbox_prefix=f"_INBOX.{user}",
        error_cb=on_error,
        connect_timeout=5,
        allow_reconnect=False,
    )
    identity = Identity(user, nc)
    try:
        yield identity
    finally:
        await nc.close()


async def connect_refused(url: str) -> str:
    """The error an unauthenticated (or wrongly authenticated) client gets; fails if it gets in."""

    async def quiet(exc: Exception) -> None:
        pass

    nc = Client()
    try:
        await nc.connect(url, name=CLIENT_NAME, allow_reconnect=False, connect_timeout=5, error_cb=quiet)
    except (nats.errors.Error, OSError) as exc:
        return str(exc)
    finally:
        await nc.close()  # also after a refusal: nats-py leaves the socket open otherwise
    pytest.fail(f"connected to {url.rsplit('@', 1)[-1]} without valid credentials")


def violations(log: Path, *, from_services_only: bool = False) -> list[str]:
    lines = [line for line in log.read_text(errors="replace").splitlines() if "Violation" in line]
    return [line for line in lines if CLIENT_NAME not in line] if from_services_only else lines


# --- a locked test server, every identity played by a raw client ---------------------------------------------------


async def test_an_anonymous_client_or_a_wrong_password_is_refused(fresh_nats: NatsServer) -> None:
    assert "authorization violation" in (await connect_refused(fresh_nats.address)).lower()
    wrong = fresh_nats.url_for("proxy").replace(fresh_nats.credentials("proxy")[1], "not-the-password")
    assert "authorization violation" in (await connect_refused(wrong)).lower()


async def test_each_state_subject_is_stored_only_when_its_owner_publishes_it(fresh_nats: NatsServer) -> None:
    harness = await nats.connect(fresh_nats.url)
    try:
        js = harness.jetstream()
        await ensure_streams(js)
        for user in SERVICES:
            async with connected(fresh_nats.url_for(user), user) as me:
                for prefix, (stream, owner) in STATE.items():
                    subject = f"{prefix}.by-{user}"
                    await me.nc.publish(subject, b"{}")
                    await me.nc.flush()
                    if user == owner:
                        stored = await eventually(
                            lambda s=stream, t=subject: js.get_last_msg(s, t), ignore=(NotFoundError,)
                        )
                        assert stored.subject == subject
                    else:
                        await me.refused(f'publish to "{subject}"')
                        with pytest.raises(NotFoundError):
                            await js.get_last_msg(stream, subject)
    finally:
        await harness.close()


async def test_only_keyvault_reads_a_tenants_last_state_and_only_by_a_direct_get(fresh_nats: NatsServer) -> None:
    harness = await nats.connect(fresh_nats.url)
    try:
        js = harness.jetstream()
        await ensure_streams(js)
        await js.publish("tenant.state.v1.tnt_1", b'{"tenant_id": "tnt_1"}', stream="TG_TENANTS")
    finally:
        await harness.close()
    async with connected(fresh_nats.url_for("keyvault"), "keyvault") as keyvault:
        js = keyvault.nc.jetstream(timeout=2)
        last = await js.get_last_msg("TG_TENANTS", "tenant.state.v1.tnt_1", direct=True)
        assert json.loads(last.data or b"") == {"tenant_id": "tnt_1"}
        with pytest.raises(NotFoundError):
            await js.get_last_msg("TG_TENANTS", "tenant.state.v1.tnt_nobody", direct=True)
        # Not by sequence (the body could name any message), and no other stream.
        with pytest.raises(nats.errors.TimeoutError):
            await js.get_msg("TG_TENANTS", seq=1)
        await keyvault.refused('publish to "$js.api.stream.msg.get.tg_tenants"')
        with pytest.raises(nats.errors.TimeoutError):
            await js.get_last_msg("TG_GRANTS", "grant.state.v1.grt_1", direct=True)
        await keyvault.refused('publish to "$js.api.direct.get.tg_grants.grant.state.v1.grt_1"')
    for user in ("metering", "proxy"):
        async with connected(fresh_nats.url_for(user), user) as other:
            with pytest.raises(nats.errors.TimeoutError):
                await other.nc.jetstream(timeout=0.5).get_last_msg("TG_TENANTS", "tenant.state.v1.tnt_1", direct=True)
            await other.refused('publish to "$js.api.direct.get.tg_tenants.tenant.state.v1.tnt_1"')


async def test_only_auth_reads_a_grants_last_budget_and_only_by_a_direct_get(fresh_nats: NatsServer) -> None:
    harness = await nats.connect(fresh_nats.url)
    try:
        js = harness.jetstream()
        await ensure_streams(js)
        await js.publish("budget.state.v1.grt_1", b'{"grant_id": "grt_1"}', stream="TG_BUDGETS")
    finally:
        await harness.close()
    async with connected(fresh_nats.url_for("auth"), "auth") as auth:
        js = auth.nc.jetstream(timeout=2)
        last = await js.get_last_msg("TG_BUDGETS", "budget.state.v1.grt_1", direct=True)
        assert json.loads(last.data or b"") == {"grant_id": "grt_1"}
        # Not by sequence (the body could name any message), and no other stream's state.
        with pytest.raises(nats.errors.TimeoutError):
            await js.get_msg("TG_BUDGETS", seq=1)
        await auth.refused('publish to "$js.api.stream.msg.get.tg_budgets"')
        with pytest.raises(nats.errors.TimeoutError):
            await js.get_last_msg("TG_BREAKERS", "breaker.state.v1.grant-grt_1", direct=True)
        await auth.refused('publish to "$js.api.direct.get.tg_breakers.breaker.state.v1.grant-grt_1"')
    for user in ("keyvault", "metering", "proxy"):
        async with connected(fresh_nats.url_for(user), user) as other:
            with pytest.raises(nats.errors.TimeoutError):
                await other.nc.jetstream(timeout=0.5).get_last_msg("TG_BUDGETS", "budget.state.v1.grt_1", direct=True)
            await other.refused('publish to "$js.api.direct.get.tg_budgets.budget.state.v1.grt_1"')


async def test_only_the_proxy_identity_reaches_the_seal_responder(fresh_nats: NatsServer) -> None:
    heard: list[bytes] = []
    async with connected(fresh_nats.url_for("keyvault"), "keyvault") as keyvault:

        async def answer(msg: Any) -> None:
            heard.append(msg.data)
            await msg.respond(b"sealed for " + msg.data)

        await keyvault.nc.subscribe(SealRequest.subject, queue="keyvault", cb=answer)
        await keyvault.nc.flush()
        for user in ("auth", "metering", "keyvault"):
            async with connected(fresh_nats.url_for(user), user) as other:
                with pytest.raises(nats.errors.TimeoutError):
                    await other.nc.request(SealRequest.subject, user.encode(), timeout=0.5)
                await other.refused(f'publish to "{SealRequest.subject}"')
        async with connected(fresh_nats.url_for("proxy"), "proxy") as proxy:
            reply = await proxy.nc.request(SealRequest.subject, b"proxy", timeout=5)
        # keyvault answered through allow_responses, though it may not publish to the proxy's inbox otherwise.
        assert reply.data == b"sealed for proxy"
        assert heard == [b"proxy"]
        assert keyvault.errors == []


async def test_no_identity_can_listen_to_another_identitys_replies(fresh_nats: NatsServer) -> None:
    for user in SERVICES:
        async with connected(fresh_nats.url_for(user), user) as me:
            await me.nc.subscribe(f"_INBOX.{user}.>")  # its own: allowed
            for other in (o for o in SERVICES if o != user):
                await me.nc.subscribe(f"_INBOX.{other}.>")
                await me.refused(f'subscription to "_inbox.{other}.>"')
            await me.nc.subscribe("_INBOX.>")
            await me.refused('subscription to "_inbox.>"')
            # The server answers in order: by now a refusal of its own inbox would have arrived too.
            assert not any(f'"_inbox.{user}.>"' in error.lower() for error in me.errors), me.errors


async def test_a_client_without_its_inbox_prefix_gets_no_reply(fresh_nats: NatsServer) -> None:
    # Why every service connects with inbox_prefix="_INBOX.<user>": the default `_INBOX.` inbox is not its own.
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    name, password = fresh_nats.credentials("proxy")
    nc = await nats.connect(fresh_nats.address, user=name, password=password, error_cb=on_error, name=CLIENT_NAME)
    try:
        with pytest.raises(nats.errors.TimeoutError):
            await nc.jetstream(timeout=0.5).stream_info("TG_GRANTS")
        await eventually(lambda: any('subscription to "_inbox.' in e.lower() for e in errors), what="the refusal")
    finally:
        await nc.close()


# --- the embedded stack: real services, the same permission set, no harness ------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("bus-identity-stack")) as running:
        yield running


def nats_log(stack: Stack) -> Path:
    return stack.paths.log("nats")


async def test_the_embedded_bus_refuses_anonymous_clients_and_has_no_harness_user(stack: Stack) -> None:
    assert "authorization violation" in (await connect_refused(stack.nats_url)).lower()
    _, some_password = stack.nats_credentials("proxy")
    harness_url = f"nats://harness:{some_password}@127.0.0.1:{stack.ports.nats}"
    assert "authorization violation" in (await connect_refused(harness_url)).lower()
    config = (stack.paths.nats / "nats.conf").read_text()
    assert "no_auth_user" not in config
    assert "user: harness" not in config
    async with httpx.AsyncClient() as http:
        varz = (await http.get(f"http://127.0.0.1:{stack.ports.nats_monitor}/varz")).json()
    assert varz["jetstream"]["config"]["sync_always"] is True


async def test_keyvault_hands_a_sealed_key_to_the_proxy_identity_only(stack: Stack) -> None:
    assert stack.bootstrap is not None
    credential_id = stack.bootstrap.credentials["openai"]
    private_key = X25519PrivateKey.generate()
    ask = SealRequest(credential_id=credential_id, recipient_public_key=public_key_text(private_key), requester="t")
    for user in ("auth", "keyvault", "metering"):
        async with connected(stack.nats_url_for(user), user) as other:
            with pytest.raises(nats.errors.TimeoutError):
                await other.nc.request(ask.subject, ask.model_dump_json().encode(), timeout=1)
            await other.refused(f'publish to "{ask.subject}"')
    async with connected(stack.nats_url_for("proxy"), "proxy") as proxy:
        answer = await proxy.nc.request(ask.subject, ask.model_dump_json().encode(), timeout=10)
    reply = SealReply.model_validate_json(answer.data)
    assert reply.ok, reply
    assert reply.ephemeral_public_key and reply.nonce and reply.ciphertext
    key = unseal(
        private_key,
        ephemeral_public_key=reply.ephemeral_public_key,
        nonce=reply.nonce,
        ciphertext=reply.ciphertext,
        credential_id=credential_id,
    )
    assert key == stack.mock_key


async def _grant_with_token(http: httpx.AsyncClient, stack: Stack) -> tuple[str, str]:
    admin = {"Authorization": f"Bearer {stack.admin_key}"}
    body = {"provider": "openai", "models": ["gpt-4o-mini"], "budget_usd": "5"}
    created = await http.post(f"{stack.auth_url}/v1/grants", json=body, headers=admin)
    assert created.status_code == 201, created.text
    grant_id = created.json()["id"]
    minted = await http.post(f"{stack.auth_url}/v1/grants/{grant_id}/tokens", headers=admin)
    assert minted.status_code == 201, minted.text
    return grant_id, minted.json()["access_token"]


async def _chat(http: httpx.AsyncClient, stack: Stack, token: str) -> tuple[int, Any]:
    response = await http.post(
        f"{stack.proxy_url}/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": PROMPT},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code, response.json()


async def _stored_grant(proxy: Identity, grant_id: str) -> GrantState:
    """The grant's state as stored in TG_GRANTS, read the way the proxy reads it (an ordered consumer)."""
    js = proxy.nc.jetstream(timeout=5)
    sub = await js.subscribe(
        f"{GrantState.subject_prefix}.{grant_id}",
        stream="TG_GRANTS",
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
    )
    try:
        msg = await sub.next_msg(timeout=5)
    finally:
        await sub.unsubscribe()
    return GrantState.model_validate_json(msg.data)


async def test_a_forged_grant_state_from_another_identity_changes_nothing_at_the_proxy(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=30) as http, connected(stack.nats_url_for("proxy"), "proxy") as reader:
        grant_id, token = await _grant_with_token(http, stack)
        await eventually(lambda: _ok(http, stack, token), what="the new grant's token to work", timeout=30)
        revoked = await http.post(
            f"{stack.auth_url}/v1/grants/{grant_id}/revoke", headers={"Authorization": f"Bearer {stack.admin_key}"}
        )
        assert revoked.status_code == 200, revoked.text
        status, body = await eventually(lambda: _refused(http, stack, token), what="the revoked token to be refused")
        real = await _stored_grant(reader, grant_id)
        assert real.status is GrantStatus.REVOKED and real.producer.startswith("auth")

        # The attack: a higher version, every model, active again, claiming to come from auth.
        forged = real.model_copy(
            update={
                "event_id": new_id("evt"),
                "state_version": real.state_version + 1000,
                "status": GrantStatus.ACTIVE,
                "models": ("*",),
                "revoked_at": None,
            }
        )
        for user in ("metering", "proxy", "keyvault"):
            async with connected(stack.nats_url_for(user), user) as forger:
                await forger.nc.publish(forged.subject, forged.model_dump_json().encode())
                with pytest.raises(nats.errors.TimeoutError):  # through JetStream: no PubAck either
                    await forger.nc.jetstream(timeout=1).publish(forged.subject, forged.model_dump_json().encode())
                await forger.refused(f'publish to "{forged.subject}"')

        # A later, genuine grant: once the proxy serves it, it has read TG_GRANTS past anything stored before.
        _, later_token = await _grant_with_token(http, stack)
        await eventually(lambda: _ok(http, stack, later_token), what="a later grant's token to work", timeout=30)
        assert await _chat(http, stack, token) == (status, body), "revoked must stay revoked"
        assert await _stored_grant(reader, grant_id) == real
    assert violations(nats_log(stack), from_services_only=True) == []


async def _ok(http: httpx.AsyncClient, stack: Stack, token: str) -> bool:
    return (await _chat(http, stack, token))[0] == 200


async def _refused(http: httpx.AsyncClient, stack: Stack, token: str) -> tuple[int, Any] | None:
    status, body = await _chat(http, stack, token)
    return (status, body) if status in (401, 403) else None


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_bus_credentials_stay_in_owner_only_files(stack: Stack) -> None:
    assert _mode(stack.paths.nats) == 0o700
    assert _mode(stack.paths.nats / "nats.conf") == 0o600
    assert _mode(stack.paths.nats_password("proxy").parent) == 0o700
    passwords = {user: stack.nats_credentials(user)[1] for user in SERVICES}
    for user in SERVICES:
        assert _mode(stack.paths.nats_password(user)) == 0o600
    assert len(set(passwords.values())) == len(SERVICES), "one password per service"

    stack_json = stack.paths.stack_json.read_text()
    assert json.loads(stack_json)["nats_url"] == stack.nats_url
    assert stack.nats is not None and stack.nats.process is not None
    pids = [child.pid for child in stack.children if child.pid is not None] + [stack.nats.process.pid]
    argvs = [Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") for pid in pids]
    logs = {str(path): path.read_text(errors="replace") for path in stack.log_files()}
    # Booleans only: a failing comparison must not print a password into the test report either.
    for user, password in passwords.items():
        in_json = password in stack_json
        assert not in_json, f"{user}'s NATS password in stack.json"
        in_argv = any(password in argv for argv in argvs)
        assert not in_argv, f"{user}'s NATS password in a process's argv"
        logged = [where for where, text in logs.items() if password in text]
        assert not logged, f"{user}'s NATS password in {logged}"
    # Each service gets its own user through the environment; the URL carries no credentials.
    for child in stack.children:
        if child.name in SERVICES:
            prefix = f"TOLLGATE_{child.name.upper()}_"
            assert child.env[prefix + "NATS_USER"] == child.name
            given = child.env[prefix + "NATS_PASSWORD"] == passwords[child.name]
            assert given, f"{child.name} is not given its own NATS password"
            assert "@" not in child.env[prefix + "NATS_URL"]

"""Use cases over the in-memory fakes: what is stored, published, audited, sealed and refused."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from faststream.nats import NatsBroker, TestNatsBroker

from tollgate_contracts import CredentialStatus, ErrorCode, SealReply, SealRequest, TenantStatus
from tollgate_keyvault.consumers import AfterReply, seal_router
from tollgate_keyvault.domain.credential import Status
from tollgate_keyvault.domain.envelope import Keyring
from tollgate_keyvault.domain.errors import (
    BaseUrlRefused,
    CredentialNotFound,
    InvalidInput,
    TenantDisabled,
    TenantNotFound,
)
from tollgate_keyvault.service import KeyvaultService
from tollgate_keyvault.testing import (
    InMemoryCredentialStore,
    KnownTenants,
    RecordingPublisher,
    fixed_resolver,
    random_kek,
)
from tollgate_servicekit.egress import EgressGuard
from tollgate_servicekit.errors import BusUnavailable
from tollgate_servicekit.testing import FixedClock, SequentialIds, eventually

KEY = "sk-proj-service-test-secret-9876"


@pytest.fixture
def store() -> InMemoryCredentialStore:
    return InMemoryCredentialStore()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def tenants() -> KnownTenants:
    """The tenants auth has published: the two these tests store credentials for."""
    known = KnownTenants()
    known.add("tnt_1")
    known.add("tnt_2")
    return known


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(random_kek("k1"))


@pytest.fixture
def service(
    store: InMemoryCredentialStore,
    publisher: RecordingPublisher,
    keyring: Keyring,
    clock: FixedClock,
    tenants: KnownTenants,
) -> KeyvaultService:
    return KeyvaultService(store, publisher, keyring, clock, SequentialIds(), tenants=tenants)


def _request(
    credential_id: str, recipient: X25519PrivateKey, public_key_of: Callable[[X25519PrivateKey], str]
) -> SealRequest:
    return SealRequest(credential_id=credential_id, recipient_public_key=public_key_of(recipient), requester="proxy-1")


async def _answer(service: KeyvaultService, payload: bytes, audits: AfterReply | None = None) -> SealReply:
    """The responder's answer to a raw request, through FastStream's in-memory test broker (no server)."""
    broker = NatsBroker()
    broker.include_router(seal_router(service.seal, (audits or AfterReply(service.record)).put))
    async with TestNatsBroker(broker) as test_broker:
        response = await test_broker.request(payload, SealRequest.subject, timeout=5)
    return SealReply.model_validate_json(response.body)


async def test_a_seal_is_answered_before_it_is_audited_and_a_lost_audit_does_not_lose_the_answer(
    service: KeyvaultService,
    publisher: RecordingPublisher,
    recipient: X25519PrivateKey,
    public_key_of: Callable[[X25519PrivateKey], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    credential = await service.create("tnt_1", "openai", KEY)
    audits = AfterReply(service.record)
    request = _request(credential.id, recipient, public_key_of)
    reply = await _answer(service, request.model_dump_json().encode(), audits)
    assert reply.ok and audits.pending == 1
    assert [a.action for a in publisher.audits] == ["credential.created"]  # the seal's audit is still queued
    publisher.failing = True
    draining = asyncio.create_task(audits.run())
    try:
        await eventually(lambda: audits.pending == 0, what="the queued audit")
        await eventually(lambda: "not published" in caplog.text, what="the lost audit to be logged")
    finally:
        draining.cancel()
    assert [a.action for a in publisher.audits] == ["credential.created"]
    publisher.failing = False
    assert (await _answer(service, request.model_dump_json().encode())).ok


async def test_a_failing_service_is_answered_internal_not_left_to_time_out(
    store: InMemoryCredentialStore, service: KeyvaultService, caplog: pytest.LogCaptureFixture
) -> None:
    store.unavailable = True
    caplog.set_level(logging.ERROR)
    payload = json.dumps({"credential_id": "crd_7", "recipient_public_key": "A" * 42 + "E", "requester": "p"})
    reply = await _answer(service, payload.encode())
    assert (reply.ok, reply.error, reply.credential_id) == (False, ErrorCode.INTERNAL, "crd_7")
    assert "test database is down" in caplog.text


async def test_creating_a_credential_publishes_its_state_and_an_audit_event(
    service: KeyvaultService, publisher: RecordingPublisher, clock: FixedClock
) -> None:
    credential = await service.create("tnt_1", "openai", KEY)
    [state] = publisher.states
    assert state.subject == f"credential.state.v1.{credential.id}"
    assert (state.state_version, state.status, state.last4) == (1, CredentialStatus.ACTIVE, "9876")
    assert (state.tenant_id, state.base_url, state.api_style) == ("tnt_1", "https://api.openai.com", "openai")
    assert state.occurred_at == clock.now()
    [audit] = publisher.audits
    assert (audit.subject, audit.action, audit.target_id) == ("audit.keyvault.v1", "credential.created", credential.id)
    assert KEY not in state.model_dump_json() + audit.model_dump_json()


async def test_deleting_bumps_the_version_erases_the_key_and_publishes(
    service: KeyvaultService, store: InMemoryCredentialStore, publisher: RecordingPublisher
) -> None:
    credential = await service.create("tnt_1", "openai", KEY)
    deleted = await service.delete(credential.id)
    assert (deleted.status, deleted.version) == (Status.DELETED, 2)
    assert store.rows[credential.id].envelope.ciphertext == b""
    assert [s.state_version for s in publisher.states] == [1, 2]
    assert publisher.states[-1].status is CredentialStatus.DELETED
    again = await service.delete(credential.id)
    assert again.version == 2 and len(publisher.states) == 2


async def test_deleting_an_unknown_credential_is_not_found(service: KeyvaultService) -> None:
    with pytest.raises(CredentialNotFound):
        await service.delete("crd_missing")


async def test_a_seal_request_returns_the_key_sealed_to_the_requester(
    service: KeyvaultService,
    publisher: RecordingPublisher,
    recipient: X25519PrivateKey,
    public_key_of: Callable[[X25519PrivateKey], str],
    unseal: Callable[..., bytes],
) -> None:
    credential = await service.create("tnt_1", "openai", KEY)
    sealing = await service.seal(_request(credential.id, recipient, public_key_of))
    reply = sealing.reply
    assert reply.ok and reply.state_version == 1 and reply.error is None
    assert unseal(recipient, credential.id, reply.ephemeral_public_key, reply.nonce, reply.ciphertext) == KEY.encode()
    assert publisher.audits[-1].action == "credential.created"
    await service.record(sealing)
    assert publisher.audits[-1].action == "credential.sealed"
    assert publisher.audits[-1].details == {"requester": "proxy-1", "state_version": 1}
    assert KEY not in sealing.reply.model_dump_json()


async def test_seal_requests_for_unknown_or_deleted_credentials_are_refused(
    service: KeyvaultService, recipient: X25519PrivateKey, public_key_of: Callable[[X25519PrivateKey], str]
) -> None:
    unknown = (await service.seal(_request("crd_missing", recipient, public_key_of))).reply
    assert (unknown.ok, unknown.error, unknown.credential_id) == (False, ErrorCode.CREDENTIAL_NOT_FOUND, "crd_missing")
    credential = await service.create("tnt_1", "openai", KEY)
    await service.delete(credential.id)
    deleted = (await service.seal(_request(credential.id, recipient, public_key_of))).reply
    assert (deleted.ok, deleted.error, deleted.ciphertext) == (False, ErrorCode.CREDENTIAL_NOT_FOUND, None)


async def test_a_key_that_no_longer_opens_is_reported_unavailable_not_leaked(
    store: InMemoryCredentialStore,
    publisher: RecordingPublisher,
    clock: FixedClock,
    tenants: KnownTenants,
    recipient: X25519PrivateKey,
    public_key_of: Callable[[X25519PrivateKey], str],
) -> None:
    writer = KeyvaultService(store, publisher, Keyring(random_kek("k1")), clock, SequentialIds(), tenants=tenants)
    credential = await writer.create("tnt_1", "openai", KEY)
    reader = KeyvaultService(store, publisher, Keyring(random_kek("k1")), clock, SequentialIds(), tenants=tenants)
    reply = (await reader.seal(_request(credential.id, recipient, public_key_of))).reply
    assert (reply.ok, reply.error) == (False, ErrorCode.PROVIDER_KEY_UNAVAILABLE)


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"credential_id": "crd_1"}',
        b'{"credential_id": 5, "recipient_public_key": "x", "requester": "p"}',
        b'{"credential_id": "crd_1", "recipient_public_key": "short", "requester": "p"}',
    ],
    ids=["not-json", "not-object", "missing-fields", "wrong-type", "bad-public-key"],
)
async def test_malformed_seal_requests_are_answered_invalid_request(service: KeyvaultService, payload: bytes) -> None:
    reply = await _answer(service, payload)
    assert (reply.ok, reply.error) == (False, ErrorCode.INVALID_REQUEST)
    assert reply.message


async def test_a_low_order_recipient_key_is_answered_invalid_request_not_internal(service: KeyvaultService) -> None:
    credential = await service.create("tnt_1", "openai", KEY)
    low_order = SealRequest(credential_id=credential.id, recipient_public_key="A" * 43, requester="proxy-1")
    reply = (await service.seal(low_order)).reply
    assert (reply.ok, reply.error, reply.ciphertext) == (False, ErrorCode.INVALID_REQUEST, None)
    assert KEY not in reply.model_dump_json()


async def test_a_refused_seal_echoes_a_plausible_credential_id_only(service: KeyvaultService) -> None:
    reply = await _answer(service, json.dumps({"credential_id": "crd_9"}).encode())
    assert reply.credential_id == "crd_9"
    odd = await _answer(service, json.dumps({"credential_id": "x" * 500}).encode())
    assert odd.credential_id == ""


async def test_a_bus_outage_fails_the_change_after_storing_it(
    service: KeyvaultService, store: InMemoryCredentialStore, publisher: RecordingPublisher
) -> None:
    publisher.failing = True
    with pytest.raises(BusUnavailable):
        await service.create("tnt_1", "openai", KEY)
    assert len(store.rows) == 1  # republished at the next start
    publisher.failing = False
    assert await service.republish_all() == 1
    assert publisher.states[0].state_version == 1


async def test_republishing_sends_every_credentials_current_state(
    service: KeyvaultService, publisher: RecordingPublisher
) -> None:
    first = await service.create("tnt_1", "openai", KEY)
    await service.create("tnt_2", "anthropic", KEY)
    await service.delete(first.id)
    publisher.states.clear()
    assert await service.republish_all() == 2
    assert {(s.credential_id, s.state_version, s.status) for s in publisher.states} == {
        (first.id, 2, CredentialStatus.DELETED),
        (f"crd_{2:026d}", 1, CredentialStatus.ACTIVE),
    }


async def test_rewrap_moves_records_to_the_current_kek_without_changing_their_version(
    store: InMemoryCredentialStore,
    publisher: RecordingPublisher,
    clock: FixedClock,
    tenants: KnownTenants,
    recipient: X25519PrivateKey,
    public_key_of: Callable[[X25519PrivateKey], str],
    unseal: Callable[..., bytes],
) -> None:
    k1, k2 = random_kek("k1"), random_kek("k2")
    credential = await KeyvaultService(store, publisher, Keyring(k1), clock, SequentialIds(), tenants=tenants).create(
        "tnt_1", "openai", KEY
    )
    rotated = KeyvaultService(store, publisher, Keyring(k2, [k1]), clock, SequentialIds(), tenants=tenants)
    assert await rotated.rewrap_all() == 1
    assert await rotated.rewrap_all() == 0
    stored = store.rows[credential.id]
    assert (stored.envelope.kek_id, stored.version) == ("k2", 1)
    only_k2 = KeyvaultService(store, publisher, Keyring(k2), clock, SequentialIds(), tenants=tenants)
    reply = (await only_k2.seal(_request(credential.id, recipient, public_key_of))).reply
    assert unseal(recipient, credential.id, reply.ephemeral_public_key, reply.nonce, reply.ciphertext) == KEY.encode()


async def test_listing_filters_by_tenant(service: KeyvaultService) -> None:
    await service.create("tnt_1", "openai", KEY)
    await service.create("tnt_2", "openai", KEY)
    assert [c.tenant_id for c in await service.list("tnt_2")] == ["tnt_2"]
    assert len(await service.list()) == 2


async def test_a_refused_base_url_stores_and_publishes_nothing(
    store: InMemoryCredentialStore,
    publisher: RecordingPublisher,
    keyring: Keyring,
    clock: FixedClock,
    tenants: KnownTenants,
) -> None:
    egress = EgressGuard(["127.0.0.1:8090"], resolver=fixed_resolver({"llm.example.com": ["127.0.0.1"]}))
    service = KeyvaultService(store, publisher, keyring, clock, SequentialIds(), tenants=tenants, egress=egress)
    for url in ("https://llm.example.com", "http://127.1:8091", "https://[::ffff:169.254.169.254]"):
        with pytest.raises(BaseUrlRefused, match=r"^base_url refused: "):
            await service.create("tnt_1", "custom", KEY, base_url=url)
    assert (store.rows, publisher.states, publisher.audits) == ({}, [], [])
    allowed = await service.create("tnt_1", "custom", KEY, base_url="http://127.0.0.1:8090")
    assert allowed.base_url == "http://127.0.0.1:8090"


async def test_a_credential_for_a_tenant_auth_never_published_is_refused_and_nothing_is_stored(
    service: KeyvaultService, store: InMemoryCredentialStore, publisher: RecordingPublisher
) -> None:
    with pytest.raises(TenantNotFound) as refused:
        await service.create("tnt_" + "9" * 5000, "openai", KEY)
    assert refused.value.code == "tenant_not_found"
    assert len(refused.value.message) < 120, "the message clips the submitted id"
    assert (store.rows, publisher.states, publisher.audits) == ({}, [], [])


async def test_a_credential_for_a_disabled_tenant_is_refused(
    service: KeyvaultService, store: InMemoryCredentialStore, tenants: KnownTenants
) -> None:
    tenants.add("tnt_off", TenantStatus.DISABLED)
    with pytest.raises(TenantDisabled, match="tnt_off is disabled") as refused:
        await service.create("tnt_off", "openai", KEY)
    assert isinstance(refused.value, InvalidInput) and refused.value.code == "tenant_disabled"
    assert store.rows == {}


async def test_tenant_state_from_a_producer_other_than_auth_is_not_believed(
    service: KeyvaultService, store: InMemoryCredentialStore, tenants: KnownTenants, caplog: pytest.LogCaptureFixture
) -> None:
    tenants.add("tnt_forged", producer="proxy/prx_1")
    with pytest.raises(TenantNotFound):
        await service.create("tnt_forged", "openai", KEY)
    assert "ignoring tenant state" in caplog.text and store.rows == {}
    tenants.add("tnt_replica", producer="auth/replica-2")
    assert (await service.create("tnt_replica", "openai", KEY)).tenant_id == "tnt_replica"


@pytest.mark.parametrize("bad", ["tnt.1", "tnt_*", ">", "tnt 1", "tnt\x01"])
async def test_a_tenant_id_that_is_not_one_plain_subject_token_is_invalid_before_any_lookup(
    service: KeyvaultService, tenants: KnownTenants, bad: str
) -> None:
    tenants.unavailable = True  # a lookup would fail differently
    with pytest.raises(InvalidInput, match="plain subject token"):
        await service.create(bad, "openai", KEY)


async def test_without_the_bus_the_tenant_cannot_be_checked_and_nothing_is_stored(
    service: KeyvaultService, store: InMemoryCredentialStore, tenants: KnownTenants
) -> None:
    tenants.unavailable = True
    with pytest.raises(BusUnavailable):
        await service.create("tnt_1", "openai", KEY)
    assert store.rows == {}

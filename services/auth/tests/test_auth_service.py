"""Use cases over the in-memory fakes: what is saved, what is published, what happens when the bus fails."""

from __future__ import annotations

import pytest

from tollgate_auth.adapters.signing import Ed25519Signer
from tollgate_auth.domain import GrantRequest, TokenPolicy
from tollgate_auth.domain.errors import BusUnavailable, GrantNotFound
from tollgate_auth.service import AuthService
from tollgate_auth.testing import InMemoryStore, RecordingPublisher
from tollgate_contracts import AuditEvent, GrantState, SigningKeyState, TenantState, TenantStatus
from tollgate_servicekit.testing import FixedClock, SequentialIds

REQUEST = GrantRequest(provider="openai", models=["gpt-4o-mini"], budget_usd="1")


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
async def service(store, publisher) -> AuthService:
    svc = AuthService(
        store=store,
        publisher=publisher,
        signer=Ed25519Signer(),
        clock=FixedClock(),
        ids=SequentialIds(),
        policy=TokenPolicy("tollgate", "tollgate-proxy", 900, 3600),
    )
    await svc.prepare()
    await svc.republish_all()
    return svc


async def test_prepare_is_idempotent(service, store):
    await service.prepare()
    assert len(store.tenants) == 1
    assert len(store.signing_keys) == 1


async def test_start_up_publishes_the_signing_key_and_its_audit_events(service, publisher):
    kinds = [(type(e).__name__, getattr(e, "action", None)) for e in publisher.events]
    assert ("SigningKeyState", None) in kinds
    assert ("AuditEvent", "tenant.created") in kinds
    assert ("AuditEvent", "signing_key.created") in kinds
    assert not service.has_pending


async def test_a_change_the_bus_did_not_acknowledge_is_saved_reported_and_retried(service, store, publisher):
    publisher.failing = True
    with pytest.raises(BusUnavailable, match="saved"):
        await service.create_grant(REQUEST)
    [grant] = store.grants.values()
    assert service.has_pending

    publisher.failing = False
    await service.retry_pending()
    states = [e for e in publisher.events if isinstance(e, GrantState)]
    assert [(s.grant_id, s.state_version) for s in states] == [(grant.id, 1)]
    assert [e.action for e in publisher.events if isinstance(e, AuditEvent)][-1] == "grant.created"
    assert not service.has_pending


async def test_a_retry_publishes_the_newest_state_not_the_one_that_failed(service, publisher):
    grant = await service.create_grant(REQUEST)
    publisher.failing = True
    with pytest.raises(BusUnavailable):
        await service.revoke_grant(grant.id)
    publisher.failing = False
    await service.retry_pending()
    last = [e for e in publisher.events if isinstance(e, GrantState)][-1]
    assert (last.status, last.state_version) == ("revoked", 2)


async def test_nothing_is_changed_while_the_bus_is_disconnected(service, store, publisher):
    publisher.connected = False
    with pytest.raises(BusUnavailable, match="nothing was changed"):
        await service.create_grant(REQUEST)
    assert store.grants == {}


async def test_an_unacknowledged_audit_event_does_not_fail_a_mint_and_is_retried(service, publisher):
    grant = await service.create_grant(REQUEST)
    publisher.failing = True
    issued = await service.mint_token(grant.id)
    assert issued.expires_in == 900
    publisher.failing = False
    await service.retry_pending()
    assert [e.details["jti"] for e in publisher.events if getattr(e, "action", "") == "token.issued"] == [issued.jti]


async def test_republishing_sends_every_state_again(service, publisher):
    first = await service.create_grant(REQUEST)
    second = await service.create_grant(REQUEST)
    await service.revoke_grant(second.id)
    await service.api_keys.create(first.id)
    publisher.events.clear()
    assert await service.republish_all() == 5
    subjects = sorted(e.subject.split(".")[0] for e in publisher.events)
    assert subjects == ["apikey", "grant", "grant", "jwks", "tenant"]
    assert {e.subject: e.state_version for e in publisher.events if isinstance(e, GrantState)} == {
        f"grant.state.v1.{first.id}": 1,
        f"grant.state.v1.{second.id}": 2,
    }
    assert all(
        isinstance(e, GrantState | SigningKeyState | TenantState) or e.subject.startswith("apikey")
        for e in publisher.events
    )


async def test_audit_events_name_the_state_they_accompany(service, publisher):
    grant = await service.create_grant(REQUEST)
    state = publisher.on(f"grant.state.v1.{grant.id}")[-1]
    audit = [e for e in publisher.events if isinstance(e, AuditEvent) and e.target_id == grant.id][-1]
    assert audit.correlation_id == state.event_id
    assert (audit.actor, audit.service, audit.tenant_id) == ("admin", "auth", grant.tenant_id)


async def test_revoking_an_unknown_grant_is_not_found(service):
    with pytest.raises(GrantNotFound):
        await service.revoke_grant("grt_nope")


async def test_start_up_publishes_the_default_tenant_as_active_state(service, store, publisher):
    [default] = store.tenants.values()
    [state] = publisher.on(f"tenant.state.v1.{default.id}")
    assert isinstance(state, TenantState)
    assert (state.tenant_id, state.name, state.status, state.state_version, state.producer) == (
        default.id,
        "default",
        TenantStatus.ACTIVE,
        1,
        "auth",
    )


async def test_a_new_tenant_is_answered_only_after_its_state_is_published_with_its_audit_event(service, publisher):
    tenant = await service.tenants.create("acme")
    [state] = publisher.on(f"tenant.state.v1.{tenant.id}")
    assert isinstance(state, TenantState) and (state.name, state.status) == ("acme", TenantStatus.ACTIVE)
    audit = [e for e in publisher.events if isinstance(e, AuditEvent) and e.target_id == tenant.id][-1]
    assert (audit.action, audit.correlation_id) == ("tenant.created", state.event_id)


async def test_a_tenant_whose_state_was_not_acknowledged_is_saved_reported_and_published_later(
    service, store, publisher
):
    publisher.failing = True
    with pytest.raises(BusUnavailable, match="saved"):
        await service.tenants.create("acme")
    [tenant] = [t for t in store.tenants.values() if t.name == "acme"]
    assert service.has_pending
    publisher.failing = False
    await service.retry_pending()
    assert [e.name for e in publisher.on(f"tenant.state.v1.{tenant.id}") if isinstance(e, TenantState)] == ["acme"]
    assert not service.has_pending


async def test_no_tenant_is_created_while_the_bus_is_down(service, store, publisher):
    publisher.connected = False
    with pytest.raises(BusUnavailable, match="nothing was changed"):
        await service.tenants.create("acme")
    assert [t.name for t in store.tenants.values()] == ["default"]

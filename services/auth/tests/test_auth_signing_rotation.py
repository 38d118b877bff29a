"""Signing-key rotation: the pure policy on a fixed clock, and the use case over the in-memory fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from tollgate_auth.adapters.signing import Ed25519Signer
from tollgate_auth.domain import GrantRequest, TokenPolicy
from tollgate_auth.domain.errors import BusUnavailable
from tollgate_auth.domain.signing_keys import (
    KeyPhase,
    KeyStatus,
    RotationPolicy,
    SigningKey,
    activate,
    current_signer,
    finalize,
    jwks,
    needs_final_state,
    phase,
    plan,
    retire,
    rotation_due,
    signing_key_state,
    superseded,
)
from tollgate_auth.service import AuthService
from tollgate_auth.testing import InMemoryStore, RecordingPublisher
from tollgate_contracts import SigningKeyState, SigningKeyStatus
from tollgate_servicekit.testing import FixedClock, SequentialIds

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = RotationPolicy.of(rotate_after_seconds=30 * 86_400, longest_token_seconds=900, skew_seconds=60)
SECOND = timedelta(seconds=1)


def key(kid: str, created: datetime, status: KeyStatus = KeyStatus.ACTIVE) -> SigningKey:
    return SigningKey(
        kid=kid,
        alg="EdDSA",
        public_jwk={"kty": "OKP", "kid": kid},
        private_pem="PRIVATE",
        status=status,
        created_at=created,
        updated_at=created,
        not_after=None,
        version=1,
    )


def test_the_overlap_is_the_longest_token_plus_the_skew():
    assert POLICY.overlap == timedelta(seconds=960)
    assert POLICY.rotate_after == timedelta(days=30)
    with pytest.raises(ValueError):
        RotationPolicy.of(rotate_after_seconds=0, longest_token_seconds=900, skew_seconds=0)


def test_active_then_retiring_then_retired_at_the_right_instants():
    a = key("a", T0)
    assert phase(a, T0) is KeyPhase.ACTIVE
    assert not rotation_due([a], T0 + POLICY.rotate_after - SECOND, POLICY)
    assert rotation_due([a], T0 + POLICY.rotate_after, POLICY)

    rotated_at = T0 + POLICY.rotate_after
    retired = retire(a, rotated_at, POLICY)
    assert retired is not None
    assert (retired.status, retired.not_after, retired.version) == (KeyStatus.RETIRED, rotated_at + POLICY.overlap, 2)
    end = rotated_at + POLICY.overlap
    assert phase(retired, rotated_at) is KeyPhase.RETIRING
    assert phase(retired, end - SECOND) is KeyPhase.RETIRING
    assert phase(retired, end) is KeyPhase.RETIRED
    # Published (in the JWKS) exactly while retiring.
    assert [k["kid"] for k in jwks([retired], end - SECOND)["keys"]] == ["a"]
    assert jwks([retired], end)["keys"] == []
    # A retiring key never signs, and retiring twice changes nothing.
    assert current_signer([retired]) is None
    assert retire(retired, end, POLICY) is None


def test_a_retired_key_gets_one_final_state_once_its_overlap_ends():
    retired = retire(key("a", T0), T0, POLICY)
    assert retired is not None
    end = T0 + POLICY.overlap
    assert not needs_final_state(retired, end - SECOND)
    assert finalize(retired, end - SECOND) is None
    assert needs_final_state(retired, end)
    final = finalize(retired, end + SECOND)
    assert final is not None
    assert (final.updated_at, final.version, final.not_after) == (end + SECOND, 3, end)
    assert not needs_final_state(final, end + timedelta(days=1))
    state = signing_key_state(final, "auth")
    assert (state.status, state.not_after, state.occurred_at, state.state_version) == (
        SigningKeyStatus.RETIRED,
        end,
        end + SECOND,
        3,
    )


def test_a_pending_key_is_published_as_active_but_signs_only_once_activated():
    old = key("old", T0)
    new = key("new", T0 + SECOND, KeyStatus.PENDING)
    assert phase(new, T0) is KeyPhase.PENDING
    assert current_signer([old, new]) == old
    assert [k["kid"] for k in jwks([old, new], T0)["keys"]] == ["old", "new"]
    assert signing_key_state(new, "auth").status is SigningKeyStatus.ACTIVE
    # While a rotation is under way, no second one starts; the check completes it instead.
    assert not rotation_due([old, new], T0 + timedelta(days=90), POLICY)
    assert plan([old, new], T0, POLICY).activate == (new,)

    active = activate(new, T0 + 2 * SECOND)
    assert active is not None
    assert (active.status, active.version) == (KeyStatus.ACTIVE, 2)
    assert activate(active, T0) is None
    assert current_signer([old, active]) == active
    assert superseded([old, active]) == [old]
    assert plan([old, active], T0, POLICY).retire == (old,)


def test_replicas_that_rotated_at_once_converge_on_the_newest_key():
    a, b, c = key("a", T0), key("b", T0 + SECOND), key("c", T0 + SECOND)
    # Ties on the creation time break on the kid, the same way on every replica.
    assert current_signer([a, b, c]) == c
    assert sorted(k.kid for k in superseded([c, a, b])) == ["a", "b"]


def test_the_plan_is_idle_between_events():
    a = key("a", T0)
    assert plan([a], T0 + timedelta(days=1), POLICY).idle
    assert plan([], T0, POLICY).rotate


# -- the use case over the in-memory fakes -------------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
async def service(store, publisher, clock) -> AuthService:
    svc = AuthService(
        store=store,
        publisher=publisher,
        signer=Ed25519Signer(),
        clock=clock,
        ids=SequentialIds(),
        policy=TokenPolicy("tollgate", "tollgate-proxy", 900, 900),
        rotation=POLICY,
    )
    await svc.prepare()
    await svc.republish_all()
    return svc


def key_states(publisher: RecordingPublisher) -> list[tuple[str, SigningKeyStatus, int]]:
    return [(e.kid, e.status, e.state_version) for e in publisher.events if isinstance(e, SigningKeyState)]


async def test_rotation_publishes_the_new_key_before_it_signs_and_retires_the_old(service, publisher, clock):
    old = service.signing_key()
    publisher.events.clear()
    clock.advance(10)
    new = await service.rotate_signing_key()
    assert new.kid != old.kid
    assert service.signing_key().kid == new.kid
    # The new key's first state (published as active while still pending) precedes everything else.
    assert key_states(publisher) == [
        (new.kid, SigningKeyStatus.ACTIVE, 1),
        (new.kid, SigningKeyStatus.ACTIVE, 2),
        (old.kid, SigningKeyStatus.RETIRED, 2),
    ]
    assert [k["kid"] for k in service.jwks()["keys"]] == [old.kid, new.kid]
    grant = await service.create_grant(GrantRequest(provider="openai", models=["gpt-4o-mini"]))
    issued = await service.mint_token(grant.id)
    assert jwt.get_unverified_header(issued.access_token)["kid"] == new.kid


async def test_a_rotation_the_bus_does_not_acknowledge_signs_nothing_with_the_new_key(service, store, publisher, clock):
    old = service.signing_key()
    publisher.failing = True
    with pytest.raises(BusUnavailable):
        await service.rotate_signing_key()
    # Stored but pending: the old key still signs.
    assert service.signing_key().kid == old.kid
    [pending] = [k for k in store.signing_keys.values() if k.status is KeyStatus.PENDING]
    publisher.failing = False
    publisher.events.clear()
    clock.advance(5)
    await service.signing.check()
    assert service.signing_key().kid == pending.kid
    assert key_states(publisher)[0] == (pending.kid, SigningKeyStatus.ACTIVE, 1)
    assert store.signing_keys[old.kid].status is KeyStatus.RETIRED


async def test_the_scheduled_check_rotates_when_due_and_ends_the_overlap(service, store, publisher, clock):
    first = service.signing_key()
    await service.signing.check()
    assert service.signing_key() == first
    clock.set(first.created_at + POLICY.rotate_after)
    await service.signing.check()
    second = service.signing_key()
    assert second.kid != first.kid
    retired_at = clock.now()
    assert store.signing_keys[first.kid].not_after == retired_at + POLICY.overlap

    clock.set(retired_at + POLICY.overlap - SECOND)
    publisher.events.clear()
    await service.signing.check()
    assert key_states(publisher) == []
    assert first.kid in [k["kid"] for k in service.jwks()["keys"]]

    clock.set(retired_at + POLICY.overlap)
    await service.signing.check()
    assert key_states(publisher) == [(first.kid, SigningKeyStatus.RETIRED, 3)]
    assert [k["kid"] for k in service.jwks()["keys"]] == [second.kid]
    final = publisher.events[-1]
    assert isinstance(final, SigningKeyState) and final.not_after is not None
    assert final.occurred_at >= final.not_after
    # Once is enough.
    publisher.events.clear()
    clock.advance(3600)
    await service.signing.check()
    assert key_states(publisher) == []


async def test_a_replica_sees_another_replicas_rotation_at_its_next_check(service, store, publisher, clock):
    other = AuthService(
        store=store,
        publisher=publisher,
        signer=Ed25519Signer(),
        clock=clock,
        ids=SequentialIds(),
        policy=TokenPolicy("tollgate", "tollgate-proxy", 900, 900),
        rotation=POLICY,
    )
    await other.prepare()
    assert other.signing_key() == service.signing_key()
    new = await service.rotate_signing_key()
    await other.signing.check()
    assert other.signing_key().kid == new.kid
    # Both replicas rotating at once end with one signer.
    clock.advance(1)
    a, b = await service.rotate_signing_key(), await other.rotate_signing_key()
    await service.signing.check()
    await other.signing.check()
    assert service.signing_key() == other.signing_key() == max(a, b, key=lambda k: (k.created_at, k.kid))
    assert len([k for k in store.signing_keys.values() if k.status is KeyStatus.ACTIVE]) == 1


def test_private_material_stays_out_of_the_published_state():
    state = signing_key_state(replace(key("a", T0), private_pem="SECRET"), "auth")
    assert "SECRET" not in state.model_dump_json()

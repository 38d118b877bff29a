"""Owner accounts and web sessions through `Accounts`, on the in-memory store and on the SQL store."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from tollgate_auth.accounts import Accounts, SignInThrottled, session_hash
from tollgate_auth.adapters.db import SqlStore
from tollgate_auth.adapters.passwords import Argon2Hasher
from tollgate_auth.domain import Tenant, new_tenant
from tollgate_auth.domain.errors import InvalidRequest, TenantNotFound
from tollgate_auth.domain.users import Role, SessionPolicy, SignInLimit, UserExists
from tollgate_auth.testing import InMemoryStore, random_keyring
from tollgate_contracts import AuditEvent
from tollgate_servicekit.testing import FixedClock, SequentialIds

PASSWORD = "correct horse battery staple"
FAST = Argon2Hasher(time_cost=1, memory_cost=64)
POLICY = SessionPolicy(idle_seconds=600, absolute_seconds=3600)


class Harness:
    def __init__(self, store) -> None:
        self.store = store
        self.clock = FixedClock()
        self.audits: list[AuditEvent] = []
        self.tenants = {"tnt_default": new_tenant("default", tenant_id="tnt_default", now=self.clock.now())}

        async def tenant(tenant_id: str | None) -> Tenant:
            found = self.tenants.get(tenant_id or "tnt_default")
            if found is None:
                raise TenantNotFound(f"no tenant {tenant_id!r}")
            return found

        async def publish(event: AuditEvent) -> None:
            self.audits.append(event)

        self.accounts = Accounts(store, self.clock, SequentialIds(), tenant, publish, FAST, POLICY)


@pytest.fixture(params=["memory", "sql"])
async def harness(request, tmp_path) -> AsyncIterator[Harness]:
    if request.param == "memory":
        yield Harness(InMemoryStore())
        return
    store = await SqlStore.open(f"sqlite+aiosqlite:///{tmp_path}/auth.db", keyring=random_keyring())
    h = Harness(store)
    await store.add_tenant(h.tenants["tnt_default"])
    try:
        yield h
    finally:
        await store.close()


async def test_a_user_is_stored_with_an_argon2id_hash_in_the_default_tenant(harness: Harness) -> None:
    user = await harness.accounts.create_user("Ada@Example.com", PASSWORD, "admin")
    assert (user.email, user.role, user.tenant_id) == ("ada@example.com", Role.ADMIN, "tnt_default")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in repr(user)
    assert await harness.store.get_user(user.id) == user
    assert [u.id for u in await harness.accounts.list_users("tnt_default")] == [user.id]
    assert await harness.accounts.list_users("tnt_other") == []


async def test_the_same_email_twice_is_user_exists_whatever_its_case(harness: Harness) -> None:
    await harness.accounts.create_user("ada@example.com", PASSWORD)
    with pytest.raises(UserExists, match="already exists"):
        await harness.accounts.create_user(" ADA@example.com", PASSWORD + "!")


async def test_a_race_past_the_first_check_still_ends_in_user_exists(harness: Harness) -> None:
    user = await harness.accounts.create_user("ada@example.com", PASSWORD)
    twin = type(user)(**{**vars(user), "id": "usr_twin"})
    with pytest.raises(UserExists):
        await harness.store.add_user(twin)


async def test_bad_input_is_refused_before_anything_is_stored(harness: Harness) -> None:
    with pytest.raises(InvalidRequest, match="role must be"):
        await harness.accounts.create_user("ada@example.com", PASSWORD, "root")
    with pytest.raises(InvalidRequest, match="at least 12"):
        await harness.accounts.create_user("ada@example.com", "short")
    with pytest.raises(TenantNotFound):
        await harness.accounts.create_user("ada@example.com", PASSWORD, tenant_id="tnt_nope")
    assert await harness.accounts.list_users() == []


async def test_the_password_is_in_no_audit_event_error_or_log_line(harness: Harness, caplog) -> None:
    # Ours at DEBUG; a database driver at DEBUG echoes statement parameters (the hash, never the password).
    caplog.set_level(logging.DEBUG, logger="tollgate_auth")
    caplog.set_level(logging.INFO)
    user = await harness.accounts.create_user("ada@example.com", PASSWORD, "developer")
    assert await harness.accounts.authenticate("ada@example.com", "wrong " + PASSWORD) is None
    with pytest.raises(UserExists) as caught:
        await harness.accounts.create_user("ada@example.com", PASSWORD)
    [created] = [a for a in harness.audits if a.action == "user.created"]
    assert created.target_id == user.id and created.details == {"email": "ada@example.com", "role": "developer"}
    everything = caplog.text + str(caught.value) + "".join(a.model_dump_json() for a in harness.audits)
    assert PASSWORD not in everything
    assert user.password_hash not in everything


async def test_sign_in_needs_the_right_password_and_tells_nothing_else(harness: Harness) -> None:
    user = await harness.accounts.create_user("ada@example.com", PASSWORD)
    assert await harness.accounts.authenticate(" ADA@example.com ", PASSWORD) == user
    assert await harness.accounts.authenticate("ada@example.com", PASSWORD.upper()) is None
    assert await harness.accounts.authenticate("nobody@example.com", PASSWORD) is None
    assert await harness.accounts.authenticate("not an email", PASSWORD) is None


async def test_a_hash_made_with_weaker_costs_is_replaced_at_sign_in(harness: Harness) -> None:
    user = await harness.accounts.create_user("ada@example.com", PASSWORD)
    harness.accounts.hasher = Argon2Hasher(time_cost=2, memory_cost=64)
    assert await harness.accounts.authenticate("ada@example.com", PASSWORD) is not None
    stored = await harness.store.get_user(user.id)
    assert stored is not None and stored.password_hash != user.password_hash and "t=2" in stored.password_hash


async def test_a_session_is_stored_hashed_and_ends_idle_absolute_or_on_sign_out(harness: Harness) -> None:
    user = await harness.accounts.create_user("ada@example.com", PASSWORD)
    sid = await harness.accounts.open_session(user)
    assert await harness.store.get_web_session(sid) is None
    assert (await harness.store.get_web_session(session_hash(sid))) is not None
    assert await harness.accounts.session_user(sid) == user
    assert await harness.accounts.session_user("forged") is None

    harness.clock.advance(599)
    assert await harness.accounts.session_user(sid) == user  # seen: the idle clock starts again
    for _ in range(5):
        harness.clock.advance(590)
        assert await harness.accounts.session_user(sid) == user
    harness.clock.advance(600)  # 3549 s old and active, but idle for 600 s
    assert await harness.accounts.session_user(sid) is None
    assert await harness.store.get_web_session(session_hash(sid)) is None

    again = await harness.accounts.open_session(user)
    assert again != sid
    await harness.accounts.close_session(again)
    assert await harness.accounts.session_user(again) is None


async def test_an_active_session_still_ends_at_its_absolute_limit(harness: Harness) -> None:
    user = await harness.accounts.create_user("ada@example.com", PASSWORD)
    sid = await harness.accounts.open_session(user)
    for _ in range(6):
        harness.clock.advance(590)
        assert await harness.accounts.session_user(sid) == user
    harness.clock.advance(60)
    assert await harness.accounts.session_user(sid) is None


async def test_opening_a_session_forgets_dead_ones(harness: Harness) -> None:
    user = await harness.accounts.create_user("ada@example.com", PASSWORD)
    old = await harness.accounts.open_session(user)
    harness.clock.advance(601)
    await harness.accounts.open_session(user)
    assert await harness.store.get_web_session(session_hash(old)) is None


async def test_the_sql_store_keeps_users_and_sessions_on_sqlite_and_postgresql(database) -> None:
    store = await SqlStore.open(database.url, database.schema, keyring=random_keyring())
    try:
        h = Harness(store)
        await store.add_tenant(h.tenants["tnt_default"])
        user = await h.accounts.create_user("ada@example.com", PASSWORD, "read-only")
        assert await store.user_by_email("ada@example.com") == user
        with pytest.raises(UserExists):
            await store.add_user(type(user)(**{**vars(user), "id": "usr_twin"}))
        sid = await h.accounts.open_session(user)
        assert await h.accounts.session_user(sid) == user
        h.clock.advance(3601)
        assert await store.delete_web_sessions_before(h.clock.now(), h.clock.now()) == 1
        assert await h.accounts.session_user(sid) is None
    finally:
        await store.close()


async def test_too_many_wrong_passwords_stop_the_checks_for_that_email_a_while(harness: Harness) -> None:
    user = await harness.accounts.create_user("ada@example.com", PASSWORD)
    harness.accounts.sign_in_limit = SignInLimit(failures=3, window_seconds=600)
    for _ in range(3):
        assert await harness.accounts.authenticate("ada@example.com", "wrong password here") is None
        harness.clock.advance(10)
    with pytest.raises(SignInThrottled) as throttled:
        await harness.accounts.authenticate("ADA@example.com", PASSWORD)  # even the right one waits
    assert throttled.value.retry_after == 571  # failures at 0, 10 and 20 s; now 30 s
    # An unknown email is throttled the same way, so the refusal tells nothing.
    for _ in range(3):
        assert await harness.accounts.authenticate("nobody@example.com", PASSWORD) is None
    with pytest.raises(SignInThrottled):
        await harness.accounts.authenticate("nobody@example.com", PASSWORD)
    harness.clock.advance(571)
    assert await harness.accounts.authenticate("ada@example.com", PASSWORD) == user
    # A success forgets the failures.
    assert await harness.accounts.authenticate("ada@example.com", "wrong password here") is None
    assert await harness.accounts.authenticate("ada@example.com", PASSWORD) == user

"""Brings auth up in the background and keeps its published state in sync with the database.

Start-up steps (servicekit's `Startup`, each retried until it succeeds): the database (schema, tables, every
signing key decrypted) → the default tenant and a signing key → the event bus → the streams → every state
published. A `ConfigurationError` (a KEK that does not decrypt the stored keys) is not retried: the start-up
task stops, logged once, and `/readyz` says why until the operator fixes it. Once up, a reconnect to NATS
re-ensures the streams and republishes everything (the server may have lost them), and unacknowledged
publications are retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math

from pydantic import SecretStr

from tollgate_auth.adapters.budgets import BusBudgets
from tollgate_auth.adapters.db import SqlStore
from tollgate_auth.adapters.oauth_store import SqlOAuthStore
from tollgate_auth.adapters.passwords import Argon2Hasher
from tollgate_auth.adapters.signing import Ed25519Signer
from tollgate_auth.domain import TokenPolicy
from tollgate_auth.domain.errors import ConfigurationError, Conflict, NotReady, StoreUnavailable, Unavailable
from tollgate_auth.domain.signing_keys import RotationPolicy
from tollgate_auth.domain.users import SessionPolicy
from tollgate_auth.ports import Clock, Ids
from tollgate_auth.service import AuthService
from tollgate_auth.settings import Settings
from tollgate_servicekit.clock import RandomIds, SystemClock
from tollgate_servicekit.errors import BusUnavailable
from tollgate_servicekit.keyring import Keyring
from tollgate_servicekit.nats import Bus
from tollgate_servicekit.sql import Database
from tollgate_servicekit.supervisor import Startup, Supervisor

log = logging.getLogger(__name__)

BUS_STEP = "the event bus"


class Runtime:
    """The running parts of one auth process; the HTTP layer asks it for the service and for readiness.

    `open()` builds them (in the lifespan), `run(tasks)` brings them up under the lifespan's supervisor,
    `close()` releases them.
    """

    def __init__(
        self, settings: Settings, keyring: Keyring, *, clock: Clock | None = None, ids: Ids | None = None
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self.clock: Clock = clock or SystemClock()
        self.ids: Ids = ids or RandomIds()
        self.admin_key: SecretStr | None = None
        self._oauth_store: SqlOAuthStore | None = None
        self._parts: tuple[SqlStore, Bus, AuthService, Startup] | None = None
        self._tasks: Supervisor | None = None
        self._ready = asyncio.Event()

    def open(self) -> None:
        """Build the store, bus and service (no connection yet); `ValueError` for unworkable database settings."""
        s = self.settings
        store = SqlStore(Database(s.database_url, s.database_schema), self.keyring)
        password = s.nats_password.get_secret_value() if s.nats_password else None
        bus = Bus(
            s.nats_url,
            name="tollgate-auth",
            user=s.nats_user,
            password=password,
            publish_timeout=s.publish_timeout_seconds,
        )
        policy = TokenPolicy(
            issuer=s.issuer,
            audience=s.audience,
            default_ttl_seconds=s.token_default_ttl_seconds,
            max_ttl_seconds=s.token_max_ttl_seconds,
        )
        service = AuthService(
            store=store,
            publisher=bus,
            signer=Ed25519Signer(),
            clock=self.clock,
            ids=self.ids,
            policy=policy,
            default_tenant_name=s.default_tenant,
            hasher=Argon2Hasher(time_cost=s.password_hash_time_cost, memory_cost=s.password_hash_memory_kib),
            sessions=SessionPolicy(idle_seconds=s.session_idle_seconds, absolute_seconds=s.session_absolute_seconds),
            rotation=rotation_policy(s),
        )
        startup = Startup(
            [
                ("the database", store.create),
                ("the default tenant and a signing key", service.prepare),
                (BUS_STEP, bus.connect),
                ("the streams", bus.ensure_streams),
                ("publishing the current state", self._publish_everything),
            ],
            retry_seconds=s.retry_interval_seconds,
            # A key that does not decrypt stays so however often it is tried: only the operator can fix it.
            fatal=(ConfigurationError,),
        )
        self._parts = (store, bus, service, startup)
        self._oauth_store = SqlOAuthStore(store.database)

    @property
    def service(self) -> AuthService:
        """The service, once everything is up; `NotReady` before."""
        if self._parts is None or not self._ready.is_set():
            failure = self._tasks.failure() if self._tasks else None
            if failure is not None:
                raise NotReady(f"auth cannot start: {failure}")
            raise NotReady(f"auth is starting ({self._startup_detail()}); try again shortly")
        return self._parts[2]

    @property
    def oauth_store(self) -> SqlOAuthStore:
        """The OAuth store (clients, codes, requests), once everything is up; `NotReady` before."""
        self.service  # noqa: B018 - raises NotReady until auth is up
        assert self._oauth_store is not None
        return self._oauth_store

    @property
    def budgets(self) -> BusBudgets:
        """Grants' last budget states on the bus (introspection); `BusUnavailable` before `open()`."""
        if self._parts is None:
            raise BusUnavailable("auth has not opened its bus")
        return BusBudgets(self._parts[1])

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def run(self, tasks: Supervisor) -> None:
        """Bring everything up, then hand the resync loop to `tasks` (the lifespan's supervisor)."""
        assert self._parts is not None, "Runtime.open() first"
        self._tasks = tasks
        await self._parts[3].run()
        self._ready.set()
        log.info("auth is ready")
        tasks.spawn("resync", self._keep_in_sync)
        tasks.spawn("signing keys", self._check_signing_keys)

    async def readiness(self) -> str | None:
        """None when auth can serve, else why not."""
        failure = self._tasks.failure() if self._tasks else None
        if failure is not None:
            return f"cannot start: {failure}" if not self._ready.is_set() else failure
        if self._parts is None or not self._ready.is_set():
            return self._startup_detail()
        store, bus, _, _ = self._parts
        if not bus.is_connected:
            return "event bus disconnected"
        try:
            await store.ping()
        except StoreUnavailable as exc:
            return f"database unreachable: {exc.message}"
        return None

    async def close(self) -> None:
        if self._parts is not None:
            store, bus, _, _ = self._parts
            await bus.close()
            await store.close()

    def _startup_detail(self) -> str:
        if self._parts is None:
            return "not started"
        _, bus, _, startup = self._parts
        detail = startup.detail
        if detail == f"waiting for {BUS_STEP}" and bus.last_error:
            detail += f" ({bus.last_error})"
        return detail

    async def _publish_everything(self) -> None:
        assert self._parts is not None
        count = await self._parts[2].republish_all()
        log.info("published %d states (tenants, grants, API keys, signing keys)", count)

    async def _check_signing_keys(self) -> None:
        """Rotate on schedule and end overlaps (`key_rotation`); a transient failure waits for the next pass."""
        assert self._parts is not None
        service = self._parts[2]
        while True:
            await asyncio.sleep(self.settings.signing_key_check_seconds)
            try:
                await service.signing.check()
            except (Unavailable, Conflict) as exc:
                log.warning("signing key check incomplete, will retry: %s", exc.message)

    async def _keep_in_sync(self) -> None:
        assert self._parts is not None
        _, bus, service, _ = self._parts
        resync_all = False
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bus.reconnected.wait(), self.settings.retry_interval_seconds)
            if bus.reconnected.is_set():
                bus.reconnected.clear()
                resync_all = True
            if not bus.is_connected:
                continue
            try:
                if resync_all:
                    await bus.ensure_streams()
                    count = await service.republish_all()
                    log.info("republished %d states after reconnecting", count)
                    resync_all = False
                elif service.has_pending:
                    await service.retry_pending()
            except Unavailable as exc:
                log.warning("resync incomplete, will retry: %s", exc.message)
            except Exception:
                log.exception("resync failed, will retry")


def rotation_policy(s: Settings) -> RotationPolicy:
    """A retired key stays published until every token it may have signed has expired: the longest token, the
    clock skew, and one check interval (how long another replica may still sign with it before it reloads)."""
    longest = max(s.token_max_ttl_seconds, s.token_default_ttl_seconds)
    return RotationPolicy.of(
        rotate_after_seconds=s.signing_key_rotate_after_seconds,
        longest_token_seconds=longest,
        skew_seconds=s.clock_skew_seconds + math.ceil(s.signing_key_check_seconds),
    )

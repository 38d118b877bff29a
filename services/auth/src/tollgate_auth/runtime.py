"""Brings auth up in the background and keeps its published state in sync with the database.

Start-up order: database (schema, tables) → default tenant and signing key → bus → streams → republish
every state. Each step is retried until it succeeds; `/healthz` answers throughout and `/readyz` says
which step is pending. Once up, a reconnect to NATS re-ensures the streams and republishes everything
(the server may have lost them), and unacknowledged publications are retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import SecretStr

from tollgate_auth.adapters.bus import NatsBus
from tollgate_auth.adapters.db import SqlStore
from tollgate_auth.adapters.signing import Ed25519Signer
from tollgate_auth.adapters.system import RandomIds, SystemClock
from tollgate_auth.domain import TokenPolicy
from tollgate_auth.domain.errors import ConfigurationError, NotReady, Unavailable
from tollgate_auth.domain.keywrap import Keyring
from tollgate_auth.ports import Clock, Ids
from tollgate_auth.service import AuthService
from tollgate_auth.settings import Settings

log = logging.getLogger(__name__)

PING_TIMEOUT = 2.0

T = TypeVar("T")


class Runtime:
    """The running parts of one auth process; the HTTP layer asks it for the service and for readiness."""

    def __init__(
        self, settings: Settings, keyring: Keyring, *, clock: Clock | None = None, ids: Ids | None = None
    ) -> None:
        self.settings = settings
        self.keyring = keyring
        self.clock: Clock = clock or SystemClock()
        self.ids: Ids = ids or RandomIds()
        self.admin_key: SecretStr | None = None
        self.store: SqlStore | None = None
        self.bus: NatsBus | None = None
        self._service: AuthService | None = None
        self._ready = asyncio.Event()
        self._stage = "not started"
        self._last_error: str | None = None
        self._failed: str | None = None

    @property
    def service(self) -> AuthService:
        """The service, once everything is up; `NotReady` before."""
        if self._failed is not None:
            raise NotReady(f"auth cannot start: {self._failed}")
        if self._service is None or not self._ready.is_set():
            raise NotReady(f"auth is starting ({self._stage}); try again shortly")
        return self._service

    async def wait_ready(self) -> None:
        await self._ready.wait()

    async def run(self) -> None:
        """Bring everything up, then keep it in sync until cancelled. A configuration error stops the start-up
        for good: it is logged once and `/readyz` names it until the operator fixes it and restarts."""
        try:
            service, bus = await self._bring_up()
        except ConfigurationError as exc:
            self._failed = exc.message
            log.error("auth cannot start (%s): %s", self._stage, exc.message)
            return
        self._stage = "ready"
        self._ready.set()
        log.info("auth is ready")
        await self._keep_in_sync(service, bus)

    async def readiness(self) -> str | None:
        """None when auth can serve, else why not."""
        if self._failed is not None:
            return f"cannot start: {self._failed}"
        if not self._ready.is_set():
            return f"{self._stage}: {self._last_error}" if self._last_error else self._stage
        if self.bus is None or not self.bus.is_connected():
            return "event bus disconnected"
        try:
            assert self.store is not None
            await asyncio.wait_for(self.store.ping(), PING_TIMEOUT)
        except (Unavailable, TimeoutError) as exc:
            return f"database unreachable: {exc}"
        return None

    async def close(self) -> None:
        if self.bus is not None:
            await self.bus.close()
        if self.store is not None:
            await self.store.close()

    async def _bring_up(self) -> tuple[AuthService, NatsBus]:
        s = self.settings
        self._stage = "connecting to the database"
        store = await self._retry(lambda: SqlStore.open(s.database_url, s.database_schema, keyring=self.keyring))
        self.store = store
        password = s.nats_password.get_secret_value() if s.nats_password else None
        bus = NatsBus(s.nats_url, user=s.nats_user, password=password, publish_timeout=s.publish_timeout_seconds)
        self.bus = bus
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
        )
        self._service = service
        self._stage = "ensuring the default tenant and a signing key"
        await self._retry(service.prepare)
        self._stage = "connecting to the event bus"
        await bus.connect()
        self._stage = "ensuring the streams"
        await self._retry(bus.ensure_streams)
        self._stage = "publishing the current state"
        count = await self._retry(service.republish_all)
        log.info("published %d states (grants, API keys, signing keys)", count)
        return service, bus

    async def _retry(self, step: Callable[[], Awaitable[T]]) -> T:
        while True:
            try:
                result = await step()
            except ConfigurationError:
                raise
            except Unavailable as exc:
                self._last_error = exc.message
                log.warning("auth not ready (%s): %s", self._stage, exc.message)
            except Exception as exc:
                # Unknown failures are retried too (the process must not sit half-started), but loudly.
                self._last_error = type(exc).__name__
                log.exception("auth not ready (%s): unexpected error", self._stage)
            else:
                self._last_error = None
                return result
            await asyncio.sleep(self.settings.retry_interval_seconds)

    async def _keep_in_sync(self, service: AuthService, bus: NatsBus) -> None:
        resync_all = False
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bus.reconnected.wait(), self.settings.retry_interval_seconds)
            if bus.reconnected.is_set():
                bus.reconnected.clear()
                resync_all = True
            if not bus.is_connected():
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

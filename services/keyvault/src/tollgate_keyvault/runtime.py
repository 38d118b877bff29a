"""The running service's resources, its start-up steps and its readiness.

Ready means: tables exist, the bus is connected, the streams keyvault publishes to and TG_TENANTS (where it checks
a credential's tenant) exist (auth creates them),
records are re-wrapped under the current KEK, every credential's state is republished, the seal responder is
listening — and no background task has crashed since.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from faststream.nats import NatsBroker
from pydantic import SecretStr

from tollgate_keyvault.adapters.bus import PUBLISHED_STREAMS
from tollgate_keyvault.adapters.db import SqlCredentialStore
from tollgate_keyvault.adapters.tenants import TENANT_STREAMS
from tollgate_keyvault.service import KeyvaultService
from tollgate_servicekit.nats import Bus
from tollgate_servicekit.sql import Database
from tollgate_servicekit.supervisor import Startup, Step, Supervisor, describe

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """What the lifespan builds and the routes use."""

    service: KeyvaultService
    database: Database
    bus: Bus
    broker: NatsBroker
    admin_key: SecretStr
    tasks: Supervisor
    startup: Startup

    async def readiness(self) -> str | None:
        """None when ready to serve, else why not."""
        if not self.startup.ready:
            return self.startup.detail
        if (crashed := self.tasks.failure()) is not None:
            return crashed
        if not self.bus.is_connected:
            return "bus: disconnected"
        try:
            await self.database.ping()
        except Exception as exc:
            return f"database: {describe(exc)}"
        return None


def startup_steps(service: KeyvaultService, store: SqlCredentialStore, bus: Bus, broker: NatsBroker) -> list[Step]:
    """The start-up steps, in order; each is retried until it succeeds."""

    async def rewrap() -> None:
        await service.rewrap_all()

    async def republish() -> None:
        count = await service.republish_all()
        logger.info("republished %d credential state(s)", count)

    async def seal_responder() -> None:
        await broker.start()
        logger.info("keyvault ready")

    return [
        ("database", store.migrate),
        ("bus", bus.connect),
        ("streams", lambda: bus.wait_for_streams(PUBLISHED_STREAMS + TENANT_STREAMS)),
        ("rewrap", rewrap),
        ("republish", republish),
        ("seal responder", seal_responder),
    ]

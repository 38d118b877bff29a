"""The running service's resources and its start-up sequence (retried until it succeeds).

Ready means: tables exist, the bus is connected with every stream ensured,
records are re-wrapped under the current KEK, every credential's state is
republished, and the seal responder is listening.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from tollgate_keyvault.adapters.bus import NatsBus
from tollgate_keyvault.adapters.db import Database
from tollgate_keyvault.consumers import Respond, answer_seal
from tollgate_keyvault.service import KeyvaultService

logger = logging.getLogger(__name__)

_PING_TIMEOUT = 2.0


@dataclass
class Runtime:
    """What the lifespan builds and the routes use."""

    service: KeyvaultService
    database: Database
    bus: NatsBus
    admin_key: str
    retry_seconds: float = 1.0
    ready: bool = False
    detail: str = "starting"

    async def bring_up(self) -> None:
        """Run the start-up steps, retrying from the failed step until all succeed (cancel to give up)."""
        steps = (
            ("database", self.database.create_tables),
            ("bus", self.bus.connect),
            ("rewrap", self._rewrap),
            ("republish", self._republish),
            ("seal responder", self._serve_seal),
        )
        for name, step in steps:
            attempt = 0
            while True:
                if attempt == 0:
                    self.detail = f"waiting for {name}"
                try:
                    await step()
                    break
                except Exception as exc:
                    # Anything can fail before the database and bus are up; say which step and retry.
                    attempt += 1
                    self.detail = f"{name}: {type(exc).__name__}"
                    logger.warning("start-up step %s failed (attempt %d): %s", name, attempt, type(exc).__name__)
                    await asyncio.sleep(self.retry_seconds)
        self.ready = True
        self.detail = "ready"
        logger.info("keyvault ready")

    async def readiness(self) -> str | None:
        """None when ready to serve, else why not."""
        if not self.ready:
            return self.detail
        if not self.bus.connected:
            return "bus: disconnected"
        try:
            await asyncio.wait_for(self.database.ping(), _PING_TIMEOUT)
        except Exception as exc:
            return f"database: {type(exc).__name__}"
        return None

    async def _rewrap(self) -> None:
        await self.service.rewrap_all()

    async def _republish(self) -> None:
        count = await self.service.republish_all()
        logger.info("republished %d credential state(s)", count)

    async def _serve_seal(self) -> None:
        service = self.service

        async def handler(data: bytes, respond: Respond) -> None:
            await answer_seal(service, data, respond)

        await self.bus.serve_seal(handler)

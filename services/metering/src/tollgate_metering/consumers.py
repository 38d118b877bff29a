"""Bus handlers, thin: decode, call the service, then ack, nak (transient) or term (poison)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from pydantic import ValidationError

from tollgate_contracts import GrantState, UsageRecorded
from tollgate_metering.domain.errors import PoisonMessage, Unavailable
from tollgate_metering.service import Metering
from tollgate_servicekit.nats import BUS_ERRORS

logger = logging.getLogger(__name__)

T = TypeVar("T")


def decode_usage(data: bytes) -> UsageRecorded:
    try:
        return UsageRecorded.model_validate_json(data)
    except ValidationError as exc:
        raise PoisonMessage(f"undecodable usage record: {exc.error_count()} validation error(s)") from exc


def decode_grant(data: bytes) -> GrantState:
    try:
        return GrantState.model_validate_json(data)
    except ValidationError as exc:
        raise PoisonMessage(f"undecodable grant state: {exc.error_count()} validation error(s)") from exc


def _where(msg: Msg) -> str:
    """Where a message sits, for logs (never its payload)."""
    try:
        meta = msg.metadata
    except (NatsError, ValueError, IndexError):
        return msg.subject
    return f"{msg.subject} seq {meta.sequence.stream} delivery {meta.num_delivered}"


class UsageHandler:
    """Handles a fetched batch of usage records.

    The batch's records are stored in one transaction. The BudgetStates of the grants touched go out next (one
    per grant, duplicates included, so a redelivery after a lost ack still publishes), and only then are the
    records acknowledged: a crash anywhere before the ack means a redelivery, which counts nothing twice.
    Poison is terminated at once; a transient failure naks the batch for redelivery.
    """

    def __init__(self, metering: Metering, retry_delay: float) -> None:
        self.metering = metering
        self.retry_delay = retry_delay

    async def __call__(self, msgs: list[Msg]) -> None:
        decoded: list[tuple[Msg, UsageRecorded]] = []
        for msg in msgs:
            try:
                decoded.append((msg, decode_usage(msg.data)))
            except PoisonMessage as exc:
                await self._terminate(msg, exc)
        try:
            await self.metering.record_many([record for _, record in decoded])
            stored = decoded
        except Unavailable as exc:
            logger.warning("storing usage failed (%s); %d record(s) will be redelivered", exc, len(decoded))
            await self._nak([msg for msg, _ in decoded])
            return
        except Exception as exc:
            # One record spoiled the batch: settle each on its own, so the others are not held back by it.
            logger.warning("a batch of %d usage records failed (%s); recording one by one", len(decoded), exc)
            stored = await self._one_by_one(decoded)
        try:
            await self.metering.publish_budgets(list(dict.fromkeys(record.grant_id for _, record in stored)))
        except Unavailable as exc:
            logger.warning("publishing budget state failed (%s); %d record(s) will be redelivered", exc, len(stored))
            await self._nak([msg for msg, _ in stored])
            return
        for msg, _ in stored:
            await self._settle(msg.ack())

    async def _one_by_one(self, decoded: list[tuple[Msg, UsageRecorded]]) -> list[tuple[Msg, UsageRecorded]]:
        stored = []
        for index, (msg, record) in enumerate(decoded):
            try:
                await self.metering.record(record)
            except PoisonMessage as exc:
                await self._terminate(msg, exc)
                continue
            except Unavailable as exc:
                logger.warning("storing usage failed (%s); %d record(s) will be redelivered", exc, len(decoded) - index)
                await self._nak([msg for msg, _ in decoded[index:]])
                break
            except Exception:
                # A bug, not bad data: keep the record (it is money) and let it come back.
                logger.exception("unexpected error storing usage record on %s; it will be redelivered", _where(msg))
                await self._nak([msg])
                continue
            stored.append((msg, record))
        return stored

    async def _terminate(self, msg: Msg, exc: PoisonMessage) -> None:
        logger.error("terminating poison message on %s: %s", _where(msg), exc)
        await self._settle(msg.term())

    async def _nak(self, msgs: list[Msg]) -> None:
        for msg in msgs:
            await self._settle(msg.nak(delay=self.retry_delay))

    @staticmethod
    async def _settle(reply: Awaitable[None]) -> None:
        try:
            await reply
        except BUS_ERRORS as exc:
            # Unsettled means redelivered after ack_wait, which the idempotent ledger absorbs.
            logger.warning("could not settle a usage message: %s", type(exc).__name__)


class GrantHandler:
    """Applies each GrantState (newest version wins) and publishes the grant's BudgetState when caps changed.

    A follower cannot nak, so transient failures are retried here until they pass or the task is cancelled.
    """

    def __init__(self, metering: Metering, retry_delay: float) -> None:
        self.metering = metering
        self.retry_delay = retry_delay

    async def __call__(self, msg: Msg) -> None:
        try:
            state = decode_grant(msg.data)
        except PoisonMessage as exc:
            logger.error("skipping poison grant state on %s: %s", _where(msg), exc)
            return
        if await self._retrying(lambda: self.metering.apply_grant(state), state.grant_id):
            await self._retrying(lambda: self.metering.publish_budget(state.grant_id), state.grant_id)

    async def _retrying(self, step: Callable[[], Awaitable[T]], grant_id: str) -> T:
        while True:
            try:
                return await step()
            except Unavailable as exc:
                logger.warning("handling grant state %s failed (%s); retrying", grant_id, exc)
                await asyncio.sleep(self.retry_delay)

"""Publishes UsageRecorded to JetStream off the request path; what cannot be sent waits in a local spool.

`submit` only puts the record on a queue. A worker publishes batches
concurrently, each with `Nats-Msg-Id` = request id so a resend is de-duplicated
by the stream (and stored once by metering even beyond the dedup window). A
record whose publish is not acknowledged is appended to
`<spool_dir>/usage-<proxy id>.jsonl` (fsynced), and a resender replays spool
files once the bus answers again. Nothing is dropped: on shutdown the queue is
flushed to the bus or to the spool.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from nats.errors import Error as NatsError
from nats.js.api import PubAck
from pydantic import ValidationError

from tollgate_contracts import UsageRecorded
from tollgate_proxy.adapters.bus import Bus

logger = logging.getLogger(__name__)

MSG_ID = "Nats-Msg-Id"
_BATCH = 64


class UsagePublisher:
    """Queue, publish, spool, resend."""

    def __init__(
        self,
        bus: Bus,
        *,
        spool_dir: Path,
        proxy_id: str,
        publish_timeout: float = 5.0,
        resend_interval: float = 5.0,
    ) -> None:
        self._bus = bus
        self._spool_dir = spool_dir
        self._spool_file = spool_dir / f"usage-{proxy_id}.jsonl"
        self._publish_timeout = publish_timeout
        self._resend_interval = resend_interval
        self._queue: asyncio.Queue[UsageRecorded | None] = asyncio.Queue()
        self.spooled = 0
        """Records written to the spool since start (for tests and metrics)."""

    def submit(self, record: UsageRecorded) -> None:
        """Hand a record over; returns at once."""
        self._queue.put_nowait(record)

    async def run(self) -> None:
        """Publish queued records until `stop()`; a batch in flight is never abandoned."""
        stopping = False
        while not stopping:
            batch: list[UsageRecorded] = []
            item = await self._queue.get()
            while True:
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
                if len(batch) >= _BATCH or self._queue.empty():
                    break
                item = self._queue.get_nowait()
            if batch:
                await self._publish_or_spool(batch)

    def stop(self) -> None:
        """Let `run()` finish what is queued so far, then return."""
        self._queue.put_nowait(None)

    async def run_resender(self) -> None:
        """Replay the spool whenever the bus is up, until cancelled."""
        await self._bus.connected.wait()
        while True:
            await self.resend_spool()
            await asyncio.sleep(self._resend_interval)

    async def _publish_or_spool(self, batch: list[UsageRecorded]) -> None:
        failed = await self._publish([(r.request_id, r.model_dump_json().encode()) for r in batch])
        if failed:
            await asyncio.to_thread(self._spool, failed)

    async def _publish(self, records: list[tuple[str, bytes]]) -> list[bytes]:
        """Publish a batch with every PubAck awaited together; return the payloads not acknowledged."""
        js = self._bus.js
        nc = self._bus.nc
        if js is None or nc is None or not nc.is_connected:
            return [data for _, data in records]
        failed: list[bytes] = []
        acks: list[tuple[str, bytes, asyncio.Future[PubAck]]] = []
        for request_id, data in records:
            try:
                ack = await js.publish_async(UsageRecorded.subject_prefix, data, headers={MSG_ID: request_id})
            except (TimeoutError, NatsError) as exc:
                logger.warning("usage record %s not sent (%s); spooling it", request_id, type(exc).__name__)
                failed.append(data)
            else:
                acks.append((request_id, data, ack))
        if acks:
            await asyncio.wait([ack for _, _, ack in acks], timeout=self._publish_timeout)
        for request_id, data, ack in acks:
            if not ack.done():
                ack.cancel()
                logger.warning("usage record %s not acknowledged in time; spooling it", request_id)
                failed.append(data)
            elif ack.cancelled() or ack.exception() is not None:
                reason = "cancelled" if ack.cancelled() else type(ack.exception()).__name__
                logger.warning("usage record %s refused (%s); spooling it", request_id, reason)
                failed.append(data)
        return failed

    def _spool(self, lines: list[bytes]) -> None:
        self._append(self._spool_file, lines)
        self.spooled += len(lines)
        logger.warning("spooled %d usage record(s) to %s", len(lines), self._spool_file)

    def _append(self, path: Path, lines: list[bytes]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as file:
            file.write(b"".join(line + b"\n" for line in lines))
            file.flush()
            os.fsync(file.fileno())

    async def resend_spool(self) -> int:
        """Publish every spooled record; what fails goes back to the spool. Returns how many were sent."""
        nc = self._bus.nc
        if nc is None or not nc.is_connected or not self._spool_dir.is_dir():
            return 0
        sent = 0
        # Spools of earlier runs of this replica (another proxy id) are picked up too.
        for path in sorted(self._spool_dir.glob("usage-*.jsonl")):
            claimed = path.with_name(path.name + ".sending")
            try:
                path.rename(claimed)
            except FileNotFoundError:
                continue
            sent += await self._resend_file(claimed)
        for claimed in sorted(self._spool_dir.glob("usage-*.jsonl.sending")):
            sent += await self._resend_file(claimed)  # left over by a crash mid-resend
        return sent

    async def _resend_file(self, path: Path) -> int:
        try:
            content = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return 0
        lines = [line for line in content.splitlines() if line.strip()]
        records: list[tuple[str, bytes]] = []
        unreadable: list[bytes] = []
        for line in lines:
            try:
                records.append((UsageRecorded.model_validate_json(line).request_id, line))
            except ValidationError:
                unreadable.append(line)
        if unreadable:
            # A torn write from a crash: keep it for a person to look at rather than lose it.
            logger.error("%d unreadable line(s) in usage spool %s kept aside", len(unreadable), path.name)
            await asyncio.to_thread(self._append, self._spool_dir / "unreadable.jsonl.bad", unreadable)
        failed: list[bytes] = []
        for start in range(0, len(records), _BATCH):
            chunk = records[start : start + _BATCH]
            refused = await self._publish(chunk)
            failed.extend(refused)
            if len(refused) == len(chunk):
                failed.extend(data for _, data in records[start + _BATCH :])  # the bus is gone again
                break
        if failed:
            await asyncio.to_thread(self._spool, failed)
        await asyncio.to_thread(path.unlink, missing_ok=True)
        sent = len(records) - len(failed)
        if sent:
            logger.info("resent %d spooled usage record(s)", sent)
        return sent

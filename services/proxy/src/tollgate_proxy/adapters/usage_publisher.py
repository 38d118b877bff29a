"""Publishes UsageRecorded to JetStream off the request path; what cannot be sent waits in a local spool.

`submit` only appends the record to a list. A worker publishes batches
concurrently, each with `Nats-Msg-Id` = request id so a resend is de-duplicated
by the stream (and stored once by metering even beyond the dedup window). A
record whose publish is not acknowledged is appended to
`<spool_dir>/usage-<proxy id>.jsonl` (fsynced), and a resender replays spool
files once the bus answers again. Nothing is dropped: on shutdown what is
queued is flushed to the bus or to the spool.

The PubAcks come back on an inbox subscription of the publisher's own and are
matched to their batch by a sequence number in the reply subject: nats-py's
`publish_async` costs about twice as much per record (a semaphore wait, random
reply tokens, a dataclass per ack, a done-callback per future), and this is
paid on every proxied request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from pydantic import ValidationError

from tollgate_contracts import UsageRecorded
from tollgate_proxy.adapters.bus import Bus
from tollgate_servicekit.secretfiles import ensure_private_dir

logger = logging.getLogger(__name__)

MSG_ID = "Nats-Msg-Id"
_BATCH = 64
_NO_RESPONDERS = "503"


def acknowledged(msg: Msg) -> bool:
    """Whether a reply to a JetStream publish is a PubAck (a duplicate's too), not an error or a no-responders."""
    if msg.headers and msg.headers.get("Status") == _NO_RESPONDERS:
        return False
    try:
        answer = json.loads(msg.data)
    except ValueError:
        return False
    return isinstance(answer, dict) and "error" not in answer and "stream" in answer


class _Batch:
    """Records in flight together; `done` resolves when every one has an answer."""

    __slots__ = ("acked", "done", "waiting")

    def __init__(self, size: int, done: asyncio.Future[None]) -> None:
        self.acked = [False] * size
        self.waiting = size
        self.done = done

    def answer(self, index: int, ok: bool) -> None:
        self.acked[index] = ok
        self.waiting -= 1
        if self.waiting == 0 and not self.done.done():
            self.done.set_result(None)


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
        self._queued: list[UsageRecorded] = []
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._inbox: str | None = None
        self._inbox_nc: NATS | None = None
        self._sequence = 0
        self._in_flight: dict[str, tuple[_Batch, int]] = {}
        self.spooled = 0
        """Records written to the spool since start (for tests and metrics)."""

    def submit(self, record: UsageRecorded) -> None:
        """Hand a record over; returns at once."""
        self._queued.append(record)
        if not self._wakeup.is_set():
            self._wakeup.set()

    async def run(self) -> None:
        """Publish queued records until `stop()`; a batch in flight is never abandoned."""
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queued:
                batch = self._queued[:_BATCH]
                del self._queued[:_BATCH]
                await self._publish_or_spool(batch)
            if self._stopping:
                return

    def stop(self) -> None:
        """Let `run()` finish what is queued so far, then return."""
        self._stopping = True
        self._wakeup.set()

    def spool_leftovers(self) -> int:
        """Spool what is still queued (only when `run()` crashed before it could send it); returns how many."""
        left, self._queued = self._queued, []
        if left:
            self._spool([r.model_dump_json().encode() for r in left])
        return len(left)

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

    async def _reply_inbox(self, nc: NATS) -> str:
        """The prefix of this publisher's reply subjects, subscribed once per connection object."""
        if self._inbox is None or self._inbox_nc is not nc:
            inbox = nc.new_inbox() + "."
            await nc.subscribe(inbox + "*", cb=self._on_ack)
            self._inbox, self._inbox_nc = inbox, nc
        return self._inbox

    async def _on_ack(self, msg: Msg) -> None:
        entry = self._in_flight.pop(msg.subject.rpartition(".")[2], None)
        if entry is not None:  # None: an answer after its record was given up on (and spooled)
            batch, index = entry
            batch.answer(index, acknowledged(msg))

    async def _publish(self, records: list[tuple[str, bytes]]) -> list[bytes]:
        """Publish a batch with every PubAck awaited together; return the payloads not acknowledged."""
        nc = self._bus.nc
        if nc is None or not nc.is_connected:
            return [data for _, data in records]
        try:
            inbox = await self._reply_inbox(nc)
        except (TimeoutError, NatsError) as exc:
            logger.warning("cannot receive usage acks (%s); spooling %d record(s)", type(exc).__name__, len(records))
            return [data for _, data in records]
        batch = _Batch(len(records), asyncio.get_running_loop().create_future())
        tokens: list[str] = []
        for index, (request_id, data) in enumerate(records):
            self._sequence += 1
            token = str(self._sequence)
            tokens.append(token)
            self._in_flight[token] = (batch, index)
            try:
                await nc.publish(UsageRecorded.subject_prefix, data, reply=inbox + token, headers={MSG_ID: request_id})
            except (TimeoutError, NatsError) as exc:
                logger.warning("usage record %s not sent (%s); spooling it", request_id, type(exc).__name__)
                self._in_flight.pop(token, None)
                batch.answer(index, False)
        if batch.waiting:
            await asyncio.wait([batch.done], timeout=self._publish_timeout)
        failed: list[bytes] = []
        for token, acked, (request_id, data) in zip(tokens, batch.acked, records, strict=True):
            if not acked:
                unanswered = self._in_flight.pop(token, None) is not None
                reason = "not acknowledged in time" if unanswered else "refused"
                logger.warning("usage record %s %s; spooling it", request_id, reason)
                failed.append(data)
        return failed

    def _spool(self, lines: list[bytes]) -> None:
        self._append(self._spool_file, lines)
        self.spooled += len(lines)
        logger.warning("spooled %d usage record(s) to %s", len(lines), self._spool_file)

    def _append(self, path: Path, lines: list[bytes]) -> None:
        # Usage records name tenants, grants and models: owner-only, like everything else under the stack dir.
        ensure_private_dir(path.parent)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as file:
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

"""Warnings about usage for grants metering has never seen a GrantState for, rate-limited.

Such usage is counted (it is money) and flagged on its ledger rows; this says so in the log without letting a
flood of them, or a flood of distinct grant ids, flood the log or the memory: one line per grant at most every
`per_grant_seconds`, at most `lines_per_minute` lines in all (what is held back is summed into the next line),
and at most `tracked` grants remembered.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from tollgate_metering.domain.usage import LedgerEntry
from tollgate_metering.ports import Clock
from tollgate_servicekit.redaction import clip

logger = logging.getLogger("tollgate_metering.unknown_grants")


class UnknownGrantLog:
    """Writes the rate-limited warning lines for usage counted under unknown grants."""

    def __init__(
        self, clock: Clock, per_grant_seconds: float = 600.0, lines_per_minute: int = 20, tracked: int = 10_000
    ) -> None:
        self.clock = clock
        self.per_grant = timedelta(seconds=per_grant_seconds)
        self.lines_per_minute = lines_per_minute
        self.tracked = tracked
        self._warned: dict[str, datetime] = {}
        self._window_start: datetime | None = None
        self._window_lines = 0
        self._held_back = 0

    def note(self, entries: Sequence[LedgerEntry]) -> None:
        """Warn (within the limits) once per grant among these newly counted entries of unknown grants."""
        by_grant: dict[str, list[LedgerEntry]] = {}
        for entry in entries:
            by_grant.setdefault(entry.grant_id, []).append(entry)
        now = self.clock.now()
        for grant_id, counted in by_grant.items():
            last = self._warned.get(grant_id)
            if last is not None and now - last < self.per_grant:
                continue
            if not self._take_line(now):
                self._held_back += 1
                continue
            self._remember(grant_id, now)
            held_back, self._held_back = self._held_back, 0
            logger.warning(
                "usage counted for grant %s (tenant %s) that metering has no grant state for: %d record(s), "
                "%d micro-USD; stored flagged unknown_grant%s",
                # Ids come from a message: a short prefix only, control characters replaced (no forged lines).
                clip(grant_id),
                clip(counted[0].tenant_id),
                len(counted),
                sum(entry.cost_micro_usd for entry in counted),
                f" ({held_back} more unknown-grant warning(s) held back)" if held_back else "",
            )

    def _take_line(self, now: datetime) -> bool:
        if self._window_start is None or now - self._window_start >= timedelta(minutes=1):
            self._window_start, self._window_lines = now, 0
        if self._window_lines >= self.lines_per_minute:
            return False
        self._window_lines += 1
        return True

    def _remember(self, grant_id: str, now: datetime) -> None:
        self._warned.pop(grant_id, None)
        self._warned[grant_id] = now  # insertion order = oldest warning first
        while len(self._warned) > self.tracked:
            del self._warned[next(iter(self._warned))]

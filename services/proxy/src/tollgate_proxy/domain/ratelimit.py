"""Requests-per-minute and tokens-per-minute limits of a grant, as a sliding sixty-second window.

Each limit is a GCRA (generic cell rate algorithm, i.e. a leaky bucket kept
as one number): `tat`, the moment the bucket would be empty again. What a
grant has used "in the window" is `(tat - now) / 60 * limit`; it drains
continuously at `limit` per minute, so there is no fixed window edge to burst
across, and a full minute's worth may be used at once.

- Requests are counted at admission: a request is let through when counting
  it keeps the window at or under `rpm`.
- Tokens are counted from the provider's actual usage (input + output) once
  the answer is complete; a request is refused while the window's tokens are
  at or over `tpm`, in whole tokens (while the remaining-tokens header the
  client is shown says 0). Requests already in flight are not held back, so a burst
  of concurrent calls may overshoot by their own usage; the overshoot is
  paid back by waiting (a grant that spent two minutes' worth at once waits
  about a minute before its next call, where a sixty-second window would
  forget it after one minute and let it do the same again).

The windows are per proxy replica: N replicas let a grant through up to N
times its limit. Sharing them across replicas comes with metering's budget
leases. A grant whose windows have drained holds no state here (its entry is
evicted), so memory is bounded by the grants active in the last minute or so,
and by `max_grants` in any case.

Everything takes `now` (monotonic seconds) as an argument; nothing here reads a clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tollgate_proxy.domain.errors import RateLimited

WINDOW_SECONDS = 60.0
_SLACK = 1e-6
"""Float tolerance, so that `rpm` evenly spaced intervals fit exactly in the window."""


@dataclass(frozen=True, slots=True)
class Quota:
    """One limit as the client is told about it (rate-limit headers)."""

    limit: int
    remaining: int
    reset_seconds: float
    """Until the window is empty again (the limit fully replenished)."""


@dataclass(frozen=True, slots=True)
class RateStatus:
    """The grant's request and token quotas; None for a limit the grant does not have."""

    requests: Quota | None
    tokens: Quota | None


def _used(tat: float, now: float, limit: int) -> float:
    return max(0.0, tat - now) * limit / WINDOW_SECONDS


def _quota(tat: float, now: float, limit: int) -> Quota:
    remaining = max(0, math.floor(limit - _used(tat, now, limit) + _SLACK))
    return Quota(limit=limit, remaining=remaining, reset_seconds=max(0.0, tat - now))


def _retry_after(seconds: float) -> int:
    """Whole seconds for `Retry-After` when admission resumes `seconds` from now: rounded up, at least one."""
    return max(1, math.ceil(seconds - _SLACK))


class _Windows:
    __slots__ = ("requests_tat", "tokens_tat")

    def __init__(self, now: float) -> None:
        self.requests_tat = now
        self.tokens_tat = now


class RateLimiter:
    """Per-grant request and token windows of this replica."""

    def __init__(self, *, max_grants: int = 100_000, sweep_every: int = 1024) -> None:
        self._windows: dict[str, _Windows] = {}
        self._max = max_grants
        self._sweep_every = sweep_every
        self._since_sweep = 0

    def __len__(self) -> int:
        return len(self._windows)

    def admit(self, grant_id: str, rpm: int | None, tpm: int | None, now: float) -> RateStatus:
        """Count one request, or raise RateLimited (nothing counted) saying when to retry."""
        windows = self._touch(grant_id, now)
        requests_tat = windows.requests_tat
        if rpm is not None:
            requests_tat = max(requests_tat, now) + WINDOW_SECONDS / rpm
            if requests_tat - now > WINDOW_SECONDS + _SLACK:
                raise RateLimited(
                    "requests",
                    f"rate limit reached: at most {rpm} requests per minute",
                    retry_after=_retry_after(requests_tat - now - WINDOW_SECONDS),
                    rates=self._status(windows, rpm, tpm, now),
                )
        # Full means less than one whole token left: what is in the window drains continuously, so "at or over
        # tpm" measured exactly would let a call through a moment after the window was filled to the brim.
        full = WINDOW_SECONDS * (tpm - 1) / tpm if tpm is not None else 0.0
        if tpm is not None and windows.tokens_tat - now > full + _SLACK:
            raise RateLimited(
                "tokens",
                f"rate limit reached: at most {tpm} tokens per minute",
                retry_after=_retry_after(windows.tokens_tat - now - full),
                rates=self._status(windows, rpm, tpm, now),
            )
        windows.requests_tat = requests_tat
        return self._status(windows, rpm, tpm, now)

    def spend(self, grant_id: str, tpm: int, tokens: int, now: float) -> None:
        """Count the tokens a finished request used against the grant's token window."""
        if tokens <= 0:
            return
        windows = self._touch(grant_id, now)
        windows.tokens_tat = max(windows.tokens_tat, now) + tokens * WINDOW_SECONDS / tpm

    def status(self, grant_id: str, rpm: int | None, tpm: int | None, now: float) -> RateStatus:
        """The quotas as they stand, counting nothing."""
        windows = self._windows.get(grant_id)
        if windows is None:
            windows = _Windows(now)
        return self._status(windows, rpm, tpm, now)

    def evict(self, now: float) -> int:
        """Forget every grant whose windows have drained (it holds no state); returns how many were dropped."""
        self._since_sweep = 0
        drained = [key for key, w in self._windows.items() if w.requests_tat <= now and w.tokens_tat <= now]
        for key in drained:
            del self._windows[key]
        return len(drained)

    @staticmethod
    def _status(windows: _Windows, rpm: int | None, tpm: int | None, now: float) -> RateStatus:
        return RateStatus(
            requests=_quota(windows.requests_tat, now, rpm) if rpm is not None else None,
            tokens=_quota(windows.tokens_tat, now, tpm) if tpm is not None else None,
        )

    def _touch(self, grant_id: str, now: float) -> _Windows:
        windows = self._windows.pop(grant_id, None)  # re-inserted below: the dict stays in least-recent order
        if windows is None:
            self._since_sweep += 1
            if self._since_sweep >= self._sweep_every or len(self._windows) >= self._max:
                self.evict(now)
            while len(self._windows) >= self._max:
                # Every grant is mid-window: forget the least recently seen one rather than grow without bound.
                del self._windows[next(iter(self._windows))]
            windows = _Windows(now)
        self._windows[grant_id] = windows
        return windows

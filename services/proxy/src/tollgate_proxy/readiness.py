"""Whether the proxy may answer: hydrated from every policy stream, every background task alive, and in recent
enough contact with the bus.

Past the staleness window the proxy fails closed: a revocation it may have
missed must not keep working. A crashed background task (the policy follower,
the usage publisher, …) fails closed too: the cache may have stopped following
the bus, or usage may no longer be recorded. `/readyz` says which task and why.
"""

from __future__ import annotations

from collections.abc import Callable

from tollgate_contracts import ErrorCode
from tollgate_proxy.adapters.bus import Bus
from tollgate_proxy.adapters.follower import PolicyFollower
from tollgate_proxy.domain.errors import Unavailable

Failure = Callable[[], str | None]
"""The supervisor's account of a crashed background task (None while all run)."""


def _no_failure() -> str | None:
    return None


class Readiness:
    """Implements `ports.Readiness` from the bus, the follower and the supervisor."""

    def __init__(
        self, bus: Bus, follower: PolicyFollower, *, staleness_seconds: float, failure: Failure = _no_failure
    ) -> None:
        self._bus = bus
        self._follower = follower
        self._staleness = staleness_seconds
        self._failure = failure

    def check(self) -> None:
        """Return when the proxy may serve; raise Unavailable (503) saying why not."""
        if not self._follower.hydrated.is_set():
            raise Unavailable(ErrorCode.POLICY_STALE, "the proxy is starting: its policy cache is not hydrated yet")
        if self._failure() is not None:
            # The task's own error stays in the log and /readyz: it is for the operator, not for API clients.
            raise Unavailable(ErrorCode.INTERNAL, "the proxy is unhealthy: one of its background tasks crashed")
        if self._bus.seconds_since_contact() > self._staleness:
            raise Unavailable(
                ErrorCode.POLICY_STALE,
                "the proxy has lost the policy bus for longer than its staleness window",
                retry_after=5,
            )

    def detail(self) -> str | None:
        """None when ready, else why not (for `/readyz`)."""
        failure = self._failure()
        if failure is not None:
            return failure
        if not self._bus.connected.is_set():
            last_error = self._bus.service_bus.last_error
            return "connecting to the bus" + (f" ({last_error})" if last_error else "")
        if not self._follower.hydrated.is_set():
            return "hydrating policy streams: " + ", ".join(self._follower.waiting_for)
        try:
            self.check()
        except Unavailable as exc:
            return exc.message
        return None

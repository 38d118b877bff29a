"""Whether the proxy may answer: hydrated from every policy stream, and in recent enough contact with the bus.

Past the staleness window the proxy fails closed: a revocation it may have
missed must not keep working.
"""

from __future__ import annotations

from tollgate_contracts import ErrorCode
from tollgate_proxy.adapters.bus import Bus
from tollgate_proxy.adapters.follower import PolicyFollower
from tollgate_proxy.domain.errors import Unavailable


class Readiness:
    def __init__(self, bus: Bus, follower: PolicyFollower, *, staleness_seconds: float) -> None:
        self._bus = bus
        self._follower = follower
        self._staleness = staleness_seconds

    def check(self) -> None:
        """Return when the proxy may serve; raise Unavailable (503) saying why not."""
        if not self._follower.hydrated.is_set():
            raise Unavailable(ErrorCode.POLICY_STALE, "the proxy is starting: its policy cache is not hydrated yet")
        if self._bus.seconds_since_contact() > self._staleness:
            raise Unavailable(
                ErrorCode.POLICY_STALE,
                "the proxy has lost the policy bus for longer than its staleness window",
                retry_after=5,
            )

    def detail(self) -> str | None:
        """None when ready, else why not (for `/readyz`)."""
        if not self._bus.connected.is_set():
            return "connecting to the bus"
        if not self._follower.hydrated.is_set():
            return "hydrating policy streams: " + ", ".join(self._follower.waiting_for)
        try:
            self.check()
        except Unavailable as exc:
            return exc.message
        return None

"""The system clock behind the proxy's `Clock` port: servicekit's, plus epoch seconds and a monotonic clock."""

from __future__ import annotations

import time

from tollgate_servicekit.clock import SystemClock as ServiceClock


class SystemClock(ServiceClock):
    """Wall time from the system (`now()` aware UTC, `time()` epoch seconds), durations from the monotonic clock."""

    __slots__ = ()

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

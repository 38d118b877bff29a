"""The real clock (the `Clock` port)."""

from __future__ import annotations

from datetime import datetime

from tollgate_contracts import utcnow


class SystemClock:
    """Aware UTC time from the system clock."""

    def now(self) -> datetime:
        return utcnow()

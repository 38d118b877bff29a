"""The `Clock` and `Ids` ports and their real implementations (fakes are in `tollgate_servicekit.testing`)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Protocol

from tollgate_contracts import new_id, utcnow


class Clock(Protocol):
    """The current time."""

    def now(self) -> datetime:
        """An aware UTC datetime."""
        ...


class Ids(Protocol):
    """New ids and secrets."""

    def new_id(self, prefix: str) -> str:
        """A new prefixed, time-sortable id such as `grt_01JD…`."""
        ...

    def new_secret(self) -> str:
        """A new url-safe random secret of 256 bits."""
        ...


class SystemClock:
    """The system clock, in aware UTC."""

    def now(self) -> datetime:
        return utcnow()


class RandomIds:
    """Ids from `tollgate_contracts.new_id`, secrets from the OS's CSPRNG."""

    def new_id(self, prefix: str) -> str:
        return new_id(prefix)

    def new_secret(self) -> str:
        return secrets.token_urlsafe(32)

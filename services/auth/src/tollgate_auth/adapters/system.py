"""The real clock and the real source of ids and secrets."""

from __future__ import annotations

import secrets
from datetime import datetime

from tollgate_contracts import new_id, utcnow


class SystemClock:
    def now(self) -> datetime:
        return utcnow()


class RandomIds:
    def new_id(self, prefix: str) -> str:
        return new_id(prefix)

    def new_secret(self) -> str:
        return secrets.token_urlsafe(32)

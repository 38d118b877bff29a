"""Column types for services' tables (the `sql` extra).

`UtcDateTime`: times are aware UTC in the domain, and stay so through the database. PostgreSQL keeps them as
`timestamptz`; SQLite stores no offset at all, so a value goes in converted to UTC (wall time, no offset) and
comes out with UTC attached. A naive datetime is refused on the way in: it is a bug, not a time.

```python
created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)
```
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, TypeDecorator

__all__ = ["UtcDateTime"]


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in and out, on PostgreSQL (timestamptz) and SQLite (which stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: times are aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

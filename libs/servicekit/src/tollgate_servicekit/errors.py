"""Infrastructure errors: what adapters raise when a dependency is away, so every service maps them one way.

```
Unavailable            a dependency did not answer; retrying later can help (HTTP 503, nack and redeliver)
├── StoreUnavailable   the database (driver, pool or connection failure; not a refused row)
└── BusUnavailable     NATS (not connected, no PubAck, no responder, timeout)
```

Framework-free: no nats, SQLAlchemy or HTTP type appears here. `message` is ours (never a driver's text that
might carry a URL with credentials), fit for a log line or an error body.
"""

from __future__ import annotations


class Unavailable(Exception):
    """A dependency did not answer; the operation may succeed if retried later."""

    code = "unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StoreUnavailable(Unavailable):
    """The database is unreachable, or dropped the connection, or the pool timed out."""

    code = "store_unavailable"


class BusUnavailable(Unavailable):
    """NATS is not connected, did not acknowledge a publish, or nobody answered a request in time."""

    code = "bus_unavailable"

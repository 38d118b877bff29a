"""The metering error tree. Each edge maps these to the outside world in one place.

MeteringError
 ├── ConfigurationError   the service cannot start as configured (e.g. no admin key)
 ├── GrantNotFound        a grant metering has never heard of (HTTP 404 `grant_not_found`)
 └── PoisonMessage        a bus message that can never be processed (terminated, not redelivered)
      └── InvalidUsage    a usage record that decodes but can never be stored
Unavailable               transient, retry later (HTTP 503; bus messages are nak'd and redelivered);
 ├── NotReady             still starting: the database, the bus or the grant replay is not there yet
 ├── StoreUnavailable     the database failed or is unreachable
 └── BusUnavailable       NATS failed or did not acknowledge a publish
                          (Unavailable, StoreUnavailable and BusUnavailable are tollgate_servicekit's, so every
                          adapter and edge of every service agrees on what "transient" is)
"""

from __future__ import annotations

from tollgate_contracts import ErrorCode
from tollgate_servicekit.errors import BusUnavailable, StoreUnavailable, Unavailable
from tollgate_servicekit.redaction import clip

__all__ = [
    "BusUnavailable",
    "ConfigurationError",
    "GrantNotFound",
    "InvalidUsage",
    "MeteringError",
    "NotReady",
    "PoisonMessage",
    "StoreUnavailable",
    "Unavailable",
]


class MeteringError(Exception):
    """Base of every error metering raises on purpose; `code` and `message` are fit for an error body."""

    code: str = ErrorCode.INTERNAL.value

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(MeteringError):
    """The service cannot start with this configuration."""


class GrantNotFound(MeteringError):
    """No grant state and no usage were ever seen for this grant id."""

    code = ErrorCode.GRANT_NOT_FOUND.value

    def __init__(self, grant_id: str) -> None:
        # The id comes from the request path: only a short prefix of it is ever repeated.
        super().__init__(f"grant {clip(grant_id)} is not known to metering")
        self.grant_id = grant_id


class NotReady(Unavailable):
    """The service is still starting."""


class PoisonMessage(MeteringError):
    """A message that no retry can make processable (undecodable, or failing validation)."""


class InvalidUsage(PoisonMessage):
    """A usage record that decodes but can never be stored."""

"""The metering error tree. Each edge maps these to the outside world in one place.

MeteringError
 ├── ConfigurationError   the service cannot start as configured (e.g. no admin key)
 ├── GrantNotFound        a grant metering has never heard of (HTTP 404 `grant_not_found`)
 ├── NotAuthorized        missing or wrong admin key (HTTP 401)
 ├── NotReady             still starting: no database or bus yet (HTTP 503)
 ├── PoisonMessage        a bus message that can never be processed (terminated, not redelivered)
 └── Unavailable          transient: retry later (bus messages are nak'd and redelivered)
      ├── StoreUnavailable   the database failed or is unreachable
      └── BusUnavailable     NATS failed or did not acknowledge a publish
"""

from __future__ import annotations


class MeteringError(Exception):
    """Base of every error metering raises on purpose."""


class ConfigurationError(MeteringError):
    """The service cannot start with this configuration."""


class GrantNotFound(MeteringError):
    """No grant state and no usage were ever seen for this grant id."""

    def __init__(self, grant_id: str) -> None:
        super().__init__(f"grant {grant_id} is not known to metering")
        self.grant_id = grant_id


class NotAuthorized(MeteringError):
    """The admin key is missing or wrong."""


class NotReady(MeteringError):
    """The service is still starting."""


class PoisonMessage(MeteringError):
    """A message that no retry can make processable (undecodable, or failing validation)."""


class InvalidUsage(PoisonMessage):
    """A usage record that decodes but can never be stored."""


class Unavailable(MeteringError):
    """A transient failure of a dependency; the same work may succeed later."""


class StoreUnavailable(Unavailable):
    """The database failed or could not be reached."""


class BusUnavailable(Unavailable):
    """NATS failed, or a publish was not acknowledged in time."""

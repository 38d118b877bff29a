"""Why auth refuses or fails a request. The HTTP edge (`api/errors.py`) maps each branch to a status.

```
AuthError                    every failure auth explains to its caller; `code` is a stable snake_case string
├── InvalidRequest           the input breaks a rule                          invalid_request
├── Unauthorized             missing or wrong admin key                       invalid_credential
├── NotFound                 the named entity does not exist
│   ├── TenantNotFound                                                        tenant_not_found
│   ├── GrantNotFound                                                         grant_not_found
│   └── ApiKeyNotFound                                                        api_key_not_found
├── Conflict                 the entity exists but is in the wrong state
│   ├── TenantExists                                                          tenant_exists
│   └── GrantNotUsable       revoked, expired, pending or denied              grant_revoked, grant_expired, …
├── Unavailable              a dependency is down; retrying later may succeed
│   ├── NotReady             still starting (database, bus or streams)        not_ready
│   ├── DatabaseUnavailable  the database did not answer                      database_unavailable
│   └── BusUnavailable       the bus is down or did not acknowledge           bus_unavailable
└── ConfigurationError       only the operator can fix it; retrying never helps   configuration_error
    ├── UnknownKek           a stored signing key names a KEK that is not configured   unknown_kek
    └── KeyUnreadable        a stored signing key does not decrypt (wrong KEK, altered row)   key_unreadable
```

Start-up stops at a `ConfigurationError` instead of retrying; it never reaches a request.

Messages are one readable line and never hold a secret.
"""

from __future__ import annotations

from tollgate_contracts import ErrorCode


class AuthError(Exception):
    """Base of every error auth reports to a caller."""

    code: str = ErrorCode.INTERNAL.value

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidRequest(AuthError):
    code = ErrorCode.INVALID_REQUEST.value


class Unauthorized(AuthError):
    code = ErrorCode.INVALID_CREDENTIAL.value


class NotFound(AuthError):
    code = "not_found"


class TenantNotFound(NotFound):
    code = "tenant_not_found"


class GrantNotFound(NotFound):
    code = ErrorCode.GRANT_NOT_FOUND.value


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class Conflict(AuthError):
    code = "conflict"


class TenantExists(Conflict):
    code = "tenant_exists"


class GrantNotUsable(Conflict):
    code = "grant_not_active"


class Unavailable(AuthError):
    code = "unavailable"


class NotReady(Unavailable):
    code = "not_ready"


class DatabaseUnavailable(Unavailable):
    code = "database_unavailable"


class BusUnavailable(Unavailable):
    code = "bus_unavailable"


class ConfigurationError(AuthError):
    code = "configuration_error"


class UnknownKek(ConfigurationError):
    code = "unknown_kek"


class KeyUnreadable(ConfigurationError):
    code = "key_unreadable"

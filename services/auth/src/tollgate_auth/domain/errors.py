"""Why auth refuses or fails a request. `app.py` maps each branch to a status (servicekit's error handlers).

```
AuthError                    the request breaks a rule; `code` is a stable snake_case string
├── InvalidRequest           the input breaks a rule                          422 invalid_request
├── NotFound                 the named entity does not exist                  404
│   ├── TenantNotFound                                                        tenant_not_found
│   ├── GrantNotFound                                                         grant_not_found
│   └── ApiKeyNotFound                                                        api_key_not_found
├── Conflict                 the entity exists but is in the wrong state      409
│   ├── TenantExists                                                          tenant_exists
│   └── GrantNotUsable       revoked, expired, pending or denied              grant_revoked, grant_expired, …
└── ConfigurationError       only the operator can fix it; retrying never helps   configuration_error
    ├── UnknownKek           a stored signing key names a KEK that is not configured   unknown_kek
    └── KeyUnreadable        a stored signing key does not decrypt (wrong KEK, altered row)   key_unreadable

Unavailable (servicekit)     a dependency is down; retrying later may succeed  503
├── NotReady                 still starting (database, bus or streams)        not_ready
├── StoreUnavailable         the database did not answer (servicekit)         store_unavailable
└── BusUnavailable           the bus is down or did not acknowledge (servicekit)   bus_unavailable
```

A missing or wrong admin key is servicekit's admin guard (401 `invalid_credential`). Start-up stops at a
`ConfigurationError` instead of retrying; it never reaches a request. Messages are one readable line, never
hold a secret, and repeat a submitted value only clipped (`tollgate_servicekit.redaction.clip`).
"""

from __future__ import annotations

from tollgate_contracts import ErrorCode
from tollgate_servicekit.errors import BusUnavailable, StoreUnavailable, Unavailable

__all__ = [
    "ApiKeyNotFound",
    "AuthError",
    "BusUnavailable",
    "ConfigurationError",
    "Conflict",
    "GrantNotFound",
    "GrantNotUsable",
    "InvalidRequest",
    "KeyUnreadable",
    "NotFound",
    "NotReady",
    "StoreUnavailable",
    "TenantExists",
    "TenantNotFound",
    "Unavailable",
    "UnknownKek",
]


class AuthError(Exception):
    """Base of every refusal auth explains to its caller."""

    code: str = ErrorCode.INTERNAL.value

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidRequest(AuthError):
    code = ErrorCode.INVALID_REQUEST.value


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


class ConfigurationError(AuthError):
    code = "configuration_error"


class UnknownKek(ConfigurationError):
    code = "unknown_kek"


class KeyUnreadable(ConfigurationError):
    code = "key_unreadable"


class NotReady(Unavailable):
    """Auth is still starting, or cannot start; 503 until it is ready."""

    code = "not_ready"

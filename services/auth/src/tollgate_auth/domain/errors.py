"""Why auth refuses or fails a request. `app.py` maps each branch to a status (servicekit's error handlers).

```
AuthError                    the request breaks a rule; `code` is a stable snake_case string
├── InvalidRequest           the input breaks a rule                          422 invalid_request
│   ├── InvalidAuthorizationDetails  not one valid `tollgate_ai_access` entry (RFC 9396)   invalid_authorization_details
│   ├── NotNarrower          the owner's choice asks for more than the app did               invalid_request
│   └── ExceedsParent        a token exchange asks for more than its parent grant (RFC 8693 §2.2.2)   invalid_request
├── NotFound                 the named entity does not exist                  404
│   ├── TenantNotFound                                                        tenant_not_found
│   ├── GrantNotFound                                                         grant_not_found
│   └── ApiKeyNotFound                                                        api_key_not_found
├── Conflict                 the entity exists but is in the wrong state      409
│   ├── TenantExists                                                          tenant_exists
│   ├── GrantNotUsable       revoked, expired, pending or denied              grant_revoked, grant_expired, …
│   ├── RequestDecided       a grant request was approved or denied before    request_decided
│   ├── RequestExpired       a grant request stayed undecided too long (RFC 8628 §3.5)   expired_token
│   ├── AuthorizationPending the owner has not decided yet (RFC 8628 §3.5)    authorization_pending
│   ├── SlowDown             a device polls faster than its interval (RFC 8628 §3.5)   slow_down
│   └── AccessDenied         the owner denied the request (RFC 6749 §4.1.2.1, RFC 8628 §3.5)   access_denied
└── ConfigurationError       only the operator can fix it; retrying never helps   configuration_error
    ├── UnknownKek           a stored signing key names a KEK that is not configured   unknown_kek
    └── KeyUnreadable        a stored signing key does not decrypt (wrong KEK, altered row)   key_unreadable

Unavailable (servicekit)     a dependency is down; retrying later may succeed  503
├── NotReady                 still starting (database, bus or streams)        not_ready
├── StoreUnavailable         the database did not answer (servicekit)         store_unavailable
└── BusUnavailable           the bus is down or did not acknowledge (servicekit)   bus_unavailable
```

The OAuth layer answers a branch whose `code` is an RFC `error` string with that string (400 on the token
endpoint, a redirect on the authorization endpoint); the admin API answers it with the status above.

A missing or wrong admin key is servicekit's admin guard (401 `invalid_credential`). Start-up stops at a
`ConfigurationError` instead of retrying; it never reaches a request. Messages are one readable line, never
hold a secret, and repeat a submitted value only clipped (`tollgate_servicekit.redaction.clip`).
"""

from __future__ import annotations

from tollgate_contracts import ErrorCode
from tollgate_servicekit.errors import BusUnavailable, StoreUnavailable, Unavailable

__all__ = [
    "AccessDenied",
    "ApiKeyNotFound",
    "AuthError",
    "AuthorizationPending",
    "BusUnavailable",
    "ConfigurationError",
    "Conflict",
    "ExceedsParent",
    "GrantNotFound",
    "GrantNotUsable",
    "InvalidAuthorizationDetails",
    "InvalidRequest",
    "KeyUnreadable",
    "NotFound",
    "NotNarrower",
    "NotReady",
    "RequestDecided",
    "RequestExpired",
    "SlowDown",
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


class InvalidAuthorizationDetails(InvalidRequest):
    """`authorization_details` is not exactly one valid `tollgate_ai_access` entry (RFC 9396 §5, §6)."""

    code = "invalid_authorization_details"


class NotNarrower(InvalidRequest):
    """The owner tried to grant more than the app asked for; consent only ever narrows."""


class ExceedsParent(InvalidRequest):
    """A token exchange asked for a child grant wider than its parent; RFC 8693 §2.2.2 says `invalid_request`."""


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


class RequestDecided(Conflict):
    """The grant request was approved or denied before; a decision is final."""

    code = "request_decided"


class RequestExpired(Conflict):
    """The grant request stayed undecided past its expiry; the app must ask again."""

    code = "expired_token"


class AuthorizationPending(Conflict):
    """The owner has not decided yet; a polling device asks again after its interval."""

    code = "authorization_pending"


class SlowDown(Conflict):
    """A device polled before its interval was over; it must wait longer (RFC 8628 §3.5)."""

    code = "slow_down"


class AccessDenied(Conflict):
    """The owner denied the request."""

    code = "access_denied"


class ConfigurationError(AuthError):
    code = "configuration_error"


class UnknownKek(ConfigurationError):
    code = "unknown_kek"


class KeyUnreadable(ConfigurationError):
    code = "key_unreadable"


class NotReady(Unavailable):
    """Auth is still starting, or cannot start; 503 until it is ready."""

    code = "not_ready"

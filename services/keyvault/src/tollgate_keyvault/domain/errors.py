"""Keyvault's error tree. No message ever carries a secret (key, KEK, plaintext), nor more than a short prefix of
a submitted value.

KeyvaultError                   `.code` and `.message` feed the HTTP error body (`tollgate_servicekit.http`)
├── InvalidInput            a caller sent something we cannot store or use (422 / invalid_request)
│   ├── BaseUrlRefused      the base URL points where Tollgate does not send keys (egress guard)
│   └── TenantDisabled      the tenant exists but is disabled (422 / tenant_disabled)
├── CredentialNotFound      no such credential, or it was deleted (404 / credential_not_found)
├── TenantNotFound          auth has published no state for the tenant (404 / tenant_not_found, as auth answers)
├── ConcurrentUpdate        the credential changed between read and write (409 / conflict)
├── KeyUnavailable          the stored key cannot be recovered (503 / provider_key_unavailable)
│   ├── UnknownKek          the record was wrapped by a KEK this process does not hold
│   └── DecryptionFailed    authentication failed: wrong key, wrong record id, or tampering
└── ConfigurationError      the process cannot start as configured (one readable line)

Infrastructure errors are servicekit's (`tollgate_servicekit.errors`): `BusUnavailable` (no PubAck, the stored
state is republished at the next start; or the tenant could not be looked up) and `StoreUnavailable`, both 503.
A seal recipient's unusable X25519 key is `tollgate_contracts.sealedbox.InvalidRecipientKey`, answered in the
`SealReply` as `invalid_request`.
"""

from __future__ import annotations

from tollgate_contracts import ErrorCode
from tollgate_servicekit.redaction import clip


class KeyvaultError(Exception):
    """Base of every error keyvault raises on purpose."""

    code: str = ErrorCode.INTERNAL.value

    @property
    def message(self) -> str:
        return str(self)


class InvalidInput(KeyvaultError):
    """The caller's input cannot be accepted; the message says which field and why (never its value)."""

    code = ErrorCode.INVALID_REQUEST.value


class BaseUrlRefused(InvalidInput):
    """The egress guard refused the base URL; the reason names at most a short prefix of the host."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"base_url refused: {reason}")


class CredentialNotFound(KeyvaultError):
    """No credential with this id exists (or it was deleted)."""

    code = ErrorCode.CREDENTIAL_NOT_FOUND.value

    def __init__(self, credential_id: str) -> None:
        super().__init__(f"credential {clip(credential_id)} not found")
        self.credential_id = credential_id


class TenantNotFound(KeyvaultError):
    """No tenant with this id: auth has published no state for it (a credential for it would never be used)."""

    code = "tenant_not_found"

    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"tenant {clip(tenant_id)} not found")
        self.tenant_id = tenant_id


class TenantDisabled(InvalidInput):
    """The tenant exists but is disabled: it may not be given new credentials."""

    code = "tenant_disabled"

    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"tenant {clip(tenant_id)} is disabled")
        self.tenant_id = tenant_id


class ConcurrentUpdate(KeyvaultError):
    """Another writer changed the credential first; the caller may retry."""

    code = "conflict"

    def __init__(self, credential_id: str) -> None:
        super().__init__(f"credential {clip(credential_id)} was changed concurrently; retry")
        self.credential_id = credential_id


class KeyUnavailable(KeyvaultError):
    """The stored provider key cannot be recovered."""

    code = ErrorCode.PROVIDER_KEY_UNAVAILABLE.value

    @property
    def message(self) -> str:
        # str(self) names KEK ids and records, for the log; a caller learns only that the key cannot be opened.
        return "the stored key cannot be opened"


class UnknownKek(KeyUnavailable):
    """The record names a KEK id that is not in the keyring."""

    def __init__(self, kek_id: str) -> None:
        super().__init__(f"key-encryption key {kek_id!r} is not configured")
        self.kek_id = kek_id


class DecryptionFailed(KeyUnavailable):
    """AES-GCM authentication failed: the ciphertext, nonce, record id or KEK does not match."""


class ConfigurationError(KeyvaultError):
    """Startup configuration is missing or wrong."""

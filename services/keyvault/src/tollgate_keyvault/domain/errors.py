"""Keyvault's error tree. No message ever carries a secret (key, KEK, plaintext).

KeyvaultError
├── InvalidInput            a caller sent something we cannot store or use (400 / invalid_request)
├── CredentialNotFound      no such credential, or it was deleted (404 / credential_not_found)
├── ConcurrentUpdate        the credential changed between read and write (409)
├── KeyUnavailable          the stored key cannot be recovered (503 / provider_key_unavailable)
│   ├── UnknownKek          the record was wrapped by a KEK this process does not hold
│   └── DecryptionFailed    authentication failed: wrong key, wrong record id, or tampering
├── BusUnavailable          an event could not be published (acknowledged) in time (503)
└── ConfigurationError      the process cannot start as configured (one readable line)

A seal recipient's unusable X25519 key is `tollgate_contracts.sealedbox.InvalidRecipientKey`, answered in the
`SealReply` as `invalid_request`.
"""

from __future__ import annotations


class KeyvaultError(Exception):
    """Base of every error keyvault raises on purpose."""


class InvalidInput(KeyvaultError):
    """The caller's input cannot be accepted; the message says which field and why (never its value)."""


class CredentialNotFound(KeyvaultError):
    """No credential with this id exists (or it was deleted)."""

    def __init__(self, credential_id: str) -> None:
        super().__init__(f"credential {credential_id} not found")
        self.credential_id = credential_id


class ConcurrentUpdate(KeyvaultError):
    """Another writer changed the credential first; the caller may retry."""

    def __init__(self, credential_id: str) -> None:
        super().__init__(f"credential {credential_id} was changed concurrently; retry")
        self.credential_id = credential_id


class KeyUnavailable(KeyvaultError):
    """The stored provider key cannot be recovered."""


class UnknownKek(KeyUnavailable):
    """The record names a KEK id that is not in the keyring."""

    def __init__(self, kek_id: str) -> None:
        super().__init__(f"key-encryption key {kek_id!r} is not configured")
        self.kek_id = kek_id


class DecryptionFailed(KeyUnavailable):
    """AES-GCM authentication failed: the ciphertext, nonce, record id or KEK does not match."""


class BusUnavailable(KeyvaultError):
    """The bus did not acknowledge a publish; the stored state is republished at the next start."""


class ConfigurationError(KeyvaultError):
    """Startup configuration is missing or wrong."""

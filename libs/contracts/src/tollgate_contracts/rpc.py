"""Request/reply models on the bus, each answered within a timeout.

Sealed provider keys (`keyvault.seal.v1`): the proxy sends its X25519 public
key; keyvault answers with the provider key encrypted to it, so no plaintext
key crosses the bus. The box is: an ephemeral X25519 key pair on the keyvault
side; the shared secret through HKDF-SHA256 (salt = ephemeral public key ||
proxy public key, info = `tollgate-seal-v1`) to a 32-byte key; AES-256-GCM
with a random 12-byte nonce and the credential id as associated data.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from tollgate_contracts.envelope import Message
from tollgate_contracts.errors import ErrorCode

SEAL_INFO = b"tollgate-seal-v1"
"""HKDF `info` of the sealed-key box."""


class Request(Message):
    """Base of bus requests; `subject` is where they are sent."""

    subject: ClassVar[str]


class SealRequest(Request):
    """Ask keyvault for a credential's key, sealed to the caller's X25519 public key."""

    subject: ClassVar[str] = "keyvault.seal.v1"

    credential_id: str = Field(description="Credential whose key is wanted.")
    recipient_public_key: str = Field(description="The proxy's X25519 public key, 32 bytes, base64url (no padding).")
    requester: str = Field(description="Proxy replica id, for the audit trail.")


class SealReply(Message):
    """The sealed key, or why not."""

    ok: bool = Field(description="True when `sealed` is present.")
    credential_id: str = Field(description="The credential asked for.")
    state_version: int | None = Field(default=None, description="Credential version the key belongs to.")
    ephemeral_public_key: str | None = Field(default=None, description="Keyvault's ephemeral X25519 key, base64url.")
    nonce: str | None = Field(default=None, description="AES-GCM nonce, base64url.")
    ciphertext: str | None = Field(default=None, description="AES-256-GCM ciphertext and tag, base64url.")
    error: ErrorCode | None = Field(default=None, description="Why no key was returned.")
    message: str | None = Field(default=None, description="Human-readable reason (never a secret).")


class LeaseRequest(Request):
    """Ask metering for a slice of a grant's budget that this proxy may spend without asking again."""

    subject: ClassVar[str] = "metering.lease.v1"

    grant_id: str = Field(description="Grant to lease from.")
    requester: str = Field(description="Proxy replica id.")
    want_micro_usd: int = Field(ge=1, description="How much the proxy would like to hold.")


class LeaseReply(Message):
    """A budget lease, or why not."""

    ok: bool = Field(description="True when a lease was granted.")
    grant_id: str = Field(description="The grant asked about.")
    lease_id: str | None = Field(default=None, description="Id to settle against.")
    granted_micro_usd: int = Field(default=0, ge=0, description="Amount this proxy may spend.")
    ttl_seconds: int = Field(default=0, ge=0, description="After this, unspent lease returns to the budget.")
    error: ErrorCode | None = Field(default=None, description="Why no lease was granted.")

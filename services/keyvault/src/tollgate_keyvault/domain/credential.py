"""A provider credential as keyvault keeps it, and the rules for accepting a new one.

The provider key itself exists here only inside an `Envelope`; everything else
is safe to show (`last4` is shown only for keys long enough that four
characters reveal little).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from tollgate_contracts import is_subject_token
from tollgate_keyvault.domain.envelope import Envelope
from tollgate_keyvault.domain.errors import InvalidInput


class Status(StrEnum):
    """Mirrors `tollgate_contracts.CredentialStatus` (the domain does not import wire models)."""

    ACTIVE = "active"
    DISABLED = "disabled"
    DELETED = "deleted"


class ApiStyle(StrEnum):
    """The wire dialect the provider speaks."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"


DEFAULT_BASE_URLS = {"openai": "https://api.openai.com", "anthropic": "https://api.anthropic.com"}
DEFAULT_STYLES = {"anthropic": ApiStyle.ANTHROPIC}
# Provider names end up in subject tokens elsewhere (price.state.v1.<provider>.<model>): keep them plain.
_PROVIDER = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_MIN_KEY_FOR_LAST4 = 8
_MAX_KEY_LENGTH = 8192


@dataclass(frozen=True)
class Credential:
    """One stored credential. `envelope` is empty (no key material) once the credential is deleted."""

    id: str
    tenant_id: str
    provider: str
    api_style: ApiStyle
    base_url: str
    last4: str
    status: Status
    version: int
    created_at: datetime
    updated_at: datetime
    envelope: Envelope

    def deleted(self, now: datetime) -> Credential:
        """The next version: deleted, its key material erased."""
        erased = Envelope(ciphertext=b"", nonce=b"", wrapped_key=b"", kek_id=self.envelope.kek_id)
        return replace(self, status=Status.DELETED, version=self.version + 1, updated_at=now, envelope=erased)


@dataclass(frozen=True)
class NewCredential:
    """A validated request to store a credential (defaults applied, key normalised)."""

    tenant_id: str
    provider: str
    api_style: ApiStyle
    base_url: str
    api_key: str

    def __repr__(self) -> str:
        return f"NewCredential(tenant_id={self.tenant_id!r}, provider={self.provider!r})"

    @property
    def last4(self) -> str:
        return self.api_key[-4:] if len(self.api_key) >= _MIN_KEY_FOR_LAST4 else ""


def new_credential(
    tenant_id: str, provider: str, api_key: str, base_url: str | None = None, api_style: str | None = None
) -> NewCredential:
    """Validate and complete a credential request; InvalidInput names the field at fault (never its value)."""
    tenant_id = tenant_id.strip()
    if not tenant_id:
        raise InvalidInput("tenant_id must not be empty")
    if not is_subject_token(tenant_id):
        # It is looked up as the last token of `tenant.state.v1.<tenant_id>`: a wildcard would match any tenant.
        raise InvalidInput("tenant_id must be one plain subject token (no '.', '*', '>', whitespace or control)")
    provider = provider.strip().lower()
    if not _PROVIDER.fullmatch(provider):
        raise InvalidInput("provider must be 1-64 lowercase letters, digits, '_' or '-'")
    key = api_key.strip()
    if not key:
        raise InvalidInput("api_key must not be empty")
    if len(key) > _MAX_KEY_LENGTH:
        raise InvalidInput(f"api_key must be at most {_MAX_KEY_LENGTH} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in key):
        # It goes into an HTTP header upstream; whitespace or control characters there would break the request.
        raise InvalidInput("api_key must not contain whitespace or control characters")
    style = _api_style(provider, api_style)
    url = normalise_base_url(base_url) if base_url else DEFAULT_BASE_URLS.get(provider)
    if url is None:
        raise InvalidInput(f"base_url is required for provider {provider!r}")
    return NewCredential(tenant_id=tenant_id, provider=provider, api_style=style, base_url=url, api_key=key)


def _api_style(provider: str, api_style: str | None) -> ApiStyle:
    if api_style is None or not api_style.strip():
        return DEFAULT_STYLES.get(provider, ApiStyle.OPENAI)
    try:
        return ApiStyle(api_style.strip().lower())
    except ValueError:
        raise InvalidInput("api_style must be 'openai' or 'anthropic'") from None


def normalise_base_url(base_url: str) -> str:
    """An http(s) API root without a trailing slash or `/v1` (the proxy appends `/v1/...` itself)."""
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput("base_url must be an absolute http(s) URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidInput("base_url must not carry a query, fragment or user info")
    if url.endswith("/v1"):
        url = url.removesuffix("/v1").rstrip("/")
    return url

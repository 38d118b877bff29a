"""What the OAuth layer's Authlib subclasses reach for: settings, the bridge, the stores and the service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import SecretStr

from tollgate_auth.adapters.budgets import BusBudgets
from tollgate_auth.adapters.oauth_devices import SqlDeviceStore
from tollgate_auth.adapters.oauth_store import SqlOAuthStore
from tollgate_auth.oauth.bridge import Bridge
from tollgate_auth.oauth.documents import MetadataDocuments
from tollgate_auth.ports import Clock, Ids
from tollgate_auth.service import AuthService
from tollgate_auth.settings import Settings


@dataclass
class OAuthContext:
    settings: Settings
    bridge: Bridge
    clock: Clock
    ids: Ids
    store: Callable[[], SqlOAuthStore]
    """The OAuth store, once auth is up (`NotReady` before)."""
    service: Callable[[], AuthService]
    """The ready service (`NotReady` before)."""
    admin_key: Callable[[], SecretStr | None]
    devices: Callable[[], SqlDeviceStore]
    """Device requests (RFC 8628), once auth is up."""
    documents: MetadataDocuments
    """Clients named by a client metadata document URL."""
    budgets: Callable[[], BusBudgets]
    """Grants' last budget states from metering (introspection); `BusUnavailable` when the bus is away."""

    @property
    def issuer(self) -> str:
        return self.settings.issuer

    def url(self, path: str) -> str:
        """An absolute URL of one of auth's endpoints."""
        return self.settings.public_url + path

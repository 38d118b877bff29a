"""Before the proxy starts: register the mock provider on keyvault as `openai` and `anthropic`.

The stack runs this once auth, keyvault and metering are ready and only then starts the proxy, which
hydrates from every state stream (these credentials included) before its `/readyz` says 200: so the
first call made after readiness finds its provider credential.

Idempotent, so a restarted embedded stack (same data, same mock key) changes
nothing: a matching credential is kept, a stale mock registration (another
port or key) is replaced, and a credential the operator added for a real
provider is left alone (the mock is then not registered for that provider).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from tollgate_devstack.process import StackError

logger = logging.getLogger(__name__)

MOCK_PROVIDERS = (("openai", "openai"), ("anthropic", "anthropic"))
DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class Bootstrap:
    """What the bootstrap found and did."""

    tenant_id: str
    credentials: dict[str, str] = field(default_factory=dict)
    """provider -> credential id of the mock registration."""
    left_alone: dict[str, str] = field(default_factory=dict)
    """provider -> base_url of an operator's own credential that the mock did not replace."""


def _is_loopback(url: str) -> bool:
    return urlsplit(url).hostname in {"127.0.0.1", "localhost", "::1"}


def _check(response: httpx.Response, what: str) -> Any:
    if response.is_success:
        return response.json()
    try:
        error = response.json()["error"]
        detail = f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        detail = response.text[:300]
    raise StackError(f"bootstrap: {what} failed with HTTP {response.status_code} ({detail})")


def find_default_tenant(client: httpx.Client, auth_url: str, name: str = DEFAULT_TENANT) -> str:
    """The id of the tenant auth ensured at start (named `name`, or the only one)."""
    tenants = _check(client.get(f"{auth_url}/v1/tenants"), "listing tenants on auth")["data"]
    for tenant in tenants:
        if tenant.get("name") == name:
            return str(tenant["id"])
    if len(tenants) == 1:
        return str(tenants[0]["id"])
    raise StackError(f"bootstrap: auth has no tenant named {name!r} (found {len(tenants)} tenants)")


def register_mock(client: httpx.Client, *, auth_url: str, keyvault_url: str, mock_url: str, mock_key: str) -> Bootstrap:
    """Register the mock provider for `openai` and `anthropic` on the default tenant; returns what it did."""
    tenant_id = find_default_tenant(client, auth_url)
    listed = _check(
        client.get(f"{keyvault_url}/v1/credentials", params={"tenant_id": tenant_id}), "listing credentials"
    )["data"]
    result = Bootstrap(tenant_id=tenant_id)
    for provider, api_style in MOCK_PROVIDERS:
        active = [c for c in listed if c.get("provider") == provider and c.get("status") == "active"]
        current = [
            c
            for c in active
            if c.get("base_url") == mock_url and c.get("api_style") == api_style and c.get("last4") == mock_key[-4:]
        ]
        if current:
            result.credentials[provider] = str(current[0]["id"])
            continue
        foreign = [c for c in active if not _is_loopback(str(c.get("base_url", "")))]
        if foreign:
            result.left_alone[provider] = str(foreign[0].get("base_url"))
            logger.warning(
                "provider %s already has a credential for %s; the mock is not registered for it",
                provider,
                foreign[0].get("base_url"),
            )
            continue
        for stale in active:
            _check(client.delete(f"{keyvault_url}/v1/credentials/{stale['id']}"), f"deleting stale {provider} mock")
        created = _check(
            client.post(
                f"{keyvault_url}/v1/credentials",
                json={
                    "tenant_id": tenant_id,
                    "provider": provider,
                    "api_key": mock_key,
                    "base_url": mock_url,
                    "api_style": api_style,
                },
            ),
            f"registering the mock provider as {provider}",
        )
        result.credentials[provider] = str(created["id"])
    return result


def bootstrap(*, admin_key: str, auth_url: str, keyvault_url: str, mock_url: str, mock_key: str) -> Bootstrap:
    """`register_mock` with an admin client of its own; StackError naming the failed call, never a traceback."""
    try:
        with httpx.Client(headers={"Authorization": f"Bearer {admin_key}"}, timeout=30.0) as admin:
            return register_mock(
                admin, auth_url=auth_url, keyvault_url=keyvault_url, mock_url=mock_url, mock_key=mock_key
            )
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        # The services said ready but answered the bootstrap unexpectedly: name the call, not a traceback.
        raise StackError(f"bootstrap failed: {type(exc).__name__}: {exc}") from exc

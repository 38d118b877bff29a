"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a `client_id` that is an https
URL names a JSON document, served there by the app, holding its own client metadata. No registration needed.

The document is fetched through servicekit's `EgressGuard` (only public addresses; the connection goes to the
address the guard checked, never to a second lookup of the name), with no redirects, at most
`MAX_DOCUMENT_BYTES`, within `FETCH_TIMEOUT_SECONDS`, and kept `CACHE_SECONDS`. It must name itself as
`client_id`, list exact `redirect_uris`, and be a public client (`token_endpoint_auth_method: none`; it holds
no secret). Plain-http loopback documents are accepted only with the `client_metadata_loopback` test setting.
The consent page shows the URL's host as the client's verified domain.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from tollgate_auth.oauth.models import PUBLIC, Client, acceptable_redirect, is_loopback_redirect
from tollgate_auth.ports import Clock
from tollgate_servicekit.egress import EgressGuard, EgressRefused

MAX_DOCUMENT_BYTES = 16 * 1024
FETCH_TIMEOUT_SECONDS = 5.0
CACHE_SECONDS = 300.0
MAX_CACHED_DOCUMENTS = 1000
"""Anyone may name a new document URL with every request: past this many, the oldest cached one goes."""
DEFAULT_GRANT_TYPES = ["authorization_code", "refresh_token"]


class DocumentRefused(Exception):
    """The document could not be fetched or is not a valid client metadata document; `reason` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def names_a_document(client_id: str, *, loopback: bool) -> bool:
    """Whether `client_id` is a metadata-document URL (https with a path; loopback http with the test setting)."""
    parts = urlsplit(client_id)
    if parts.scheme == "https" and parts.hostname and parts.path not in ("", "/"):
        return True
    return loopback and is_loopback_redirect(client_id)


def verified_domain(client_id: str) -> str | None:
    """The host of a metadata-document client's id (None for a registered client's `cli_…` id)."""
    parts = urlsplit(client_id)
    return parts.hostname if parts.scheme in ("https", "http") and parts.hostname else None


@dataclass
class MetadataDocuments:
    clock: Clock
    loopback: bool = False
    _cache: dict[str, tuple[float, Client]] = field(default_factory=dict)

    async def client(self, url: str) -> Client:
        cached = self._cache.get(url)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        client = _client_of(url, await self._fetch(url), self.clock)
        self._cache.pop(url, None)
        self._cache[url] = (time.monotonic() + CACHE_SECONDS, client)
        while len(self._cache) > MAX_CACHED_DOCUMENTS:
            del self._cache[next(iter(self._cache))]
        return client

    async def _fetch(self, url: str) -> dict[str, Any]:
        # One deadline for the whole fetch: httpx's timeout applies to each read, so a server dripping bytes
        # would otherwise hold it (and the worker thread waiting on it) for as long as it likes.
        try:
            async with asyncio.timeout(FETCH_TIMEOUT_SECONDS):
                return await self._fetch_unbounded(url)
        except TimeoutError:
            raise DocumentRefused(f"client metadata document: not fetched within {FETCH_TIMEOUT_SECONDS:g} s") from None

    async def _fetch_unbounded(self, url: str) -> dict[str, Any]:
        parts = urlsplit(url)
        allow = [f"{parts.hostname}:{parts.port or 80}"] if self.loopback and is_loopback_redirect(url) else []
        guard = EgressGuard(allow=allow, timeout=FETCH_TIMEOUT_SECONDS)
        try:
            target = guard.parse(url)
            [address, *_] = await guard.resolve(target)
        except EgressRefused as exc:
            raise DocumentRefused(f"client metadata document: {exc.reason}") from None
        host = f"[{address}]" if ":" in address else address
        fetch_url = f"{target.scheme}://{host}:{target.port}{target.path}" + (
            f"?{target.query}" if target.query else ""
        )
        headers = {"Host": target.authority, "Accept": "application/json"}
        try:
            async with (
                httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=False) as http,
                http.stream("GET", fetch_url, headers=headers, extensions={"sni_hostname": target.host}) as answer,
            ):
                if answer.status_code != 200:
                    raise DocumentRefused(f"client metadata document: HTTP {answer.status_code}")
                body = b""
                async for chunk in answer.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise DocumentRefused(f"client metadata document: larger than {MAX_DOCUMENT_BYTES} bytes")
        except httpx.HTTPError as exc:
            raise DocumentRefused(f"client metadata document: {type(exc).__name__}") from None
        try:
            document = json.loads(body)
        except ValueError:
            raise DocumentRefused("client metadata document: not JSON") from None
        if not isinstance(document, dict):
            raise DocumentRefused("client metadata document: not a JSON object")
        return document


def _client_of(url: str, document: dict[str, Any], clock: Clock) -> Client:
    if document.get("client_id") != url:
        raise DocumentRefused("client metadata document: its client_id is not its own URL")
    uris = document.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        raise DocumentRefused("client metadata document: redirect_uris must be a non-empty list of URLs")
    if not all(acceptable_redirect(u) for u in uris):
        # The same rule as registration: https, or http to a loopback IP literal.
        raise DocumentRefused("client metadata document: a redirect URI is neither https nor loopback http")
    method = document.get("token_endpoint_auth_method", PUBLIC)
    if method != PUBLIC:
        raise DocumentRefused("client metadata document: only public clients (token_endpoint_auth_method none)")
    name = document.get("client_name")
    grant_types = document.get("grant_types", DEFAULT_GRANT_TYPES)
    if not isinstance(grant_types, list) or not all(isinstance(g, str) for g in grant_types):
        raise DocumentRefused("client metadata document: grant_types must be a list")
    metadata = {
        "redirect_uris": list(uris),
        "grant_types": list(grant_types),
        "response_types": ["code"],
        "token_endpoint_auth_method": PUBLIC,
    }
    return Client(url, name if isinstance(name, str) else None, metadata, None, clock.now())

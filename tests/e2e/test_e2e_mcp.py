"""The MCP Python SDK's own OAuth client against the running stack, with no Tollgate-specific code: the proxy's 401
names its RFC 9728 metadata; `OAuthClientProvider` (the `auth` of an httpx2 client) discovers it and auth's RFC 8414
metadata, registers (RFC 7591), runs PKCE; its redirect handler drives the consent page in Chromium, where the owner
chooses the provider and models (an MCP client asks for no `authorization_details`) and approves; its callback
handler hands back what reached the loopback redirect; its retried request succeeds."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from tollgate_devstack.stack import Stack
from tollgate_devstack.testing import Cli

from .oauth_flow import WELL_KNOWN_AS, WELL_KNOWN_PR, Loopback, consent_in_browser, create_owner

pytestmark = pytest.mark.e2e


class MemoryStorage:
    """The SDK's `TokenStorage` protocol, in memory: what a real MCP client would keep on disk."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


async def test_the_mcp_sdk_finds_auth_from_the_proxys_401_and_its_retried_request_succeeds(
    e2e_stack: Stack, browser: Any, cli: Cli, handed_out: dict[str, str]
) -> None:
    owner = create_owner(cli, e2e_stack, handed_out)
    models_url = f"{e2e_stack.proxy_url}/v1/models"
    metadata_url = e2e_stack.proxy_url + WELL_KNOWN_PR

    async with httpx2.AsyncClient() as bare:
        refused = await bare.get(models_url)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == f'Bearer resource_metadata="{metadata_url}"'

    context = await browser.new_context()
    page = await context.new_page()
    with Loopback.start() as loopback:

        async def redirect_handler(authorization_url: str) -> None:
            await consent_in_browser(
                page,
                authorization_url,
                owner,
                provider="openai",
                models="gpt-4o-mini",
                shown=("MCP e2e client", "not named — you choose"),
            )

        async def callback_handler() -> AuthorizationCodeResult:
            answer = await loopback.answer()
            return AuthorizationCodeResult(code=answer["code"], state=answer.get("state"), iss=answer.get("iss"))

        storage = MemoryStorage()
        provider = OAuthClientProvider(
            server_url=models_url,
            client_metadata=OAuthClientMetadata(
                client_name="MCP e2e client",
                redirect_uris=[loopback.redirect_uri],  # pydantic parses the str
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                token_endpoint_auth_method="none",
            ),
            storage=storage,
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
        )
        seen: list[str] = []

        async def record(request: httpx2.Request) -> None:
            seen.append(f"{request.method} {request.url.copy_with(query=None)}")

        async with httpx2.AsyncClient(auth=provider, event_hooks={"request": [record]}) as client:
            answer = await client.get(models_url)
        await context.close()

    assert answer.status_code == 200, answer.text
    assert [model["id"] for model in answer.json()["data"]] == ["gpt-4o-mini"]
    assert storage.tokens is not None and storage.client_info is not None
    handed_out["mcp access token"] = storage.tokens.access_token
    if storage.tokens.refresh_token:
        handed_out["mcp refresh token"] = storage.tokens.refresh_token
    auth = e2e_stack.auth_url
    assert seen == [
        f"GET {models_url}",  # no token yet: the 401 with the challenge
        f"GET {metadata_url}",  # RFC 9728, from the challenge
        f"GET {auth}{WELL_KNOWN_AS}",  # RFC 8414, from the metadata's authorization_servers
        f"POST {auth}/oauth/register",  # RFC 7591
        f"POST {auth}/oauth/token",  # the code (PKCE) for tokens
        f"GET {models_url}",  # the retried request, with the token
    ]

"""Dynamic client registration (RFC 7591) on Authlib's `ClientRegistrationEndpoint`.

Open to anyone by default (`registration=open`, as MCP clients expect); `registration=admin` asks for the admin
key as a bearer token. Public clients (`token_endpoint_auth_method: none`) get no secret and must use PKCE S256
(enforced at the authorization endpoint for every client). A confidential client's secret is returned once and
stored as its SHA-256 only.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.claims import BaseClaims
from authlib.oauth2.rfc7591 import ClientMetadataClaims, ClientRegistrationEndpoint
from authlib.oauth2.rfc7591.errors import InvalidClientMetadataError, InvalidRedirectURIError

from tollgate_auth.oauth.context import OAuthContext
from tollgate_auth.oauth.models import PUBLIC, Client, acceptable_redirect, digest

DEFAULT_GRANT_TYPES = ["authorization_code", "refresh_token"]
REDIRECT_GRANTS = {"authorization_code"}


class PushedRequestClaims(BaseClaims):  # type: ignore[misc]
    """RFC 9126 §6: a client may register that its authorization requests must be pushed."""

    REGISTERED_CLAIMS = ["require_pushed_authorization_requests"]

    def validate(self, now: Any = None, leeway: int = 0) -> None:
        value = self.get("require_pushed_authorization_requests", False)
        if not isinstance(value, bool):
            raise InvalidClientMetadataError("require_pushed_authorization_requests: must be true or false")


class Registration(ClientRegistrationEndpoint):  # type: ignore[misc]
    def __init__(self, ctx: OAuthContext, metadata: dict[str, Any]) -> None:
        super().__init__(claims_classes=[ClientMetadataClaims, PushedRequestClaims])
        self.ctx = ctx
        self._metadata = metadata

    def get_server_metadata(self) -> dict[str, Any]:
        return self._metadata

    def authenticate_token(self, request: Any) -> str:
        # The route has already checked the admin key when registration is admin-only (`OAuthLayer`).
        return "checked"

    def extract_client_metadata(self, request: Any) -> dict[str, Any]:
        metadata: dict[str, Any] = super().extract_client_metadata(request)
        metadata.setdefault("grant_types", list(DEFAULT_GRANT_TYPES))
        metadata.setdefault("response_types", ["code"])
        if REDIRECT_GRANTS & set(metadata["grant_types"]):
            uris = metadata.get("redirect_uris") or []
            if not uris:
                raise InvalidRedirectURIError("redirect_uris: required for the authorization_code grant")
            for uri in uris:
                if not isinstance(uri, str) or not acceptable_redirect(uri):
                    shown = repr(uri[:100]) if isinstance(uri, str) else "an entry"
                    raise InvalidRedirectURIError(
                        f"redirect_uris: {shown} is neither https nor http to a loopback IP literal"
                    )
        return metadata

    def generate_client_info(self, request: Any) -> dict[str, Any]:
        info: dict[str, Any] = super().generate_client_info(request)
        if request.payload.data.get("token_endpoint_auth_method") == PUBLIC:
            # A public client has no secret to keep: none is issued.
            info.pop("client_secret", None)
            info.pop("client_secret_expires_at", None)
        return info

    def generate_client_id(self, request: Any) -> str:
        return self.ctx.ids.new_id("cli")

    def save_client(self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any) -> Client:
        secret = client_info.get("client_secret")
        client = Client(
            client_id=client_info["client_id"],
            client_name=client_metadata.get("client_name"),
            metadata=dict(client_metadata),
            secret_hash=digest(secret) if secret else None,
            created_at=self.ctx.clock.now(),
        )
        self.ctx.bridge.wait(self.ctx.store().add_client(client))
        return client

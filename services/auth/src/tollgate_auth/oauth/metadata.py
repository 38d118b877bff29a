"""RFC 8414 authorization-server metadata: what this server really supports, nothing it does not.

Token exchange (RFC 8693, `token_exchange.py`) and DPoP-bound tokens (RFC 9449, `dpop_binding.py`) are advertised:
the grant type and `dpop_signing_alg_values_supported`.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from tollgate_auth.domain.consent import DETAILS_TYPE
from tollgate_auth.settings import Settings
from tollgate_servicekit.dpop import ALGORITHMS as DPOP_ALGORITHMS

AUTHORIZE = "/oauth/authorize"
TOKEN = "/oauth/token"
REGISTER = "/oauth/register"
PAR = "/oauth/par"
REVOKE = "/oauth/revoke"
INTROSPECT = "/oauth/introspect"
DEVICE_AUTHORIZATION = "/oauth/device_authorization"
DEVICE_VERIFY = "/device"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JWKS = "/.well-known/jwks.json"
WELL_KNOWN = "/.well-known/oauth-authorization-server"

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
GRANT_TYPES = ["authorization_code", "refresh_token", DEVICE_GRANT, "client_credentials", TOKEN_EXCHANGE_GRANT]
AUTH_METHODS = ["none", "client_secret_basic", "client_secret_post"]


def server_metadata(settings: Settings) -> dict[str, Any]:
    base = settings.public_url
    metadata = AuthorizationServerMetadata(
        {
            "issuer": settings.issuer,
            "authorization_endpoint": base + AUTHORIZE,
            "token_endpoint": base + TOKEN,
            "registration_endpoint": base + REGISTER,
            "pushed_authorization_request_endpoint": base + PAR,
            "require_pushed_authorization_requests": settings.require_par,
            "device_authorization_endpoint": base + DEVICE_AUTHORIZATION,
            "revocation_endpoint": base + REVOKE,
            "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "introspection_endpoint": base + INTROSPECT,
            "introspection_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "jwks_uri": base + JWKS,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(GRANT_TYPES),
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "code_challenge_methods_supported": ["S256"],
            "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),
            "authorization_details_types_supported": [DETAILS_TYPE],
            "authorization_response_iss_parameter_supported": True,
            "client_id_metadata_document_supported": True,
        }
    )
    # Authlib's `metadata.validate()` insists on https, which the plain-HTTP embedded default is not; the tests
    # validate the document of an https deployment.
    return dict(metadata)

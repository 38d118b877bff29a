"""The `WWW-Authenticate` challenges of a 401, and the protected-resource metadata they point to (RFC 9728).

Every 401 names the metadata document, so an OAuth client that knows nothing
of Tollgate finds the authorization server from the refusal alone (RFC 9728
§5.1, what MCP clients do):

    WWW-Authenticate: Bearer resource_metadata="https://proxy.example/.well-known/oauth-protected-resource"
    WWW-Authenticate: Bearer resource_metadata="…", error="invalid_token", error_description="token has expired"
    WWW-Authenticate: DPoP error="invalid_dpop_proof", error_description="…", algs="ES256 EdDSA …"

The first when no credential came (RFC 6750 §3.1: no error code then), the
second when one came and was refused, the third beside a plain Bearer
challenge when the DPoP side failed (RFC 9449 §7.1; with `error="use_dpop_nonce"`
a `DPoP-Nonce` header carries the nonce to use). The JSON error bodies the
SDKs parse stay as they are (`domain.dialects`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tollgate_proxy.domain.errors import CredentialRejected, ProofRejected

METADATA_PATH = "/.well-known/oauth-protected-resource"
RESOURCE_NAME = "Tollgate proxy"

Headers = list[tuple[bytes, bytes]]


def _quoted(value: str) -> str:
    """An RFC 9110 quoted-string of printable ASCII (anything else is dropped; quotes and backslashes escaped)."""
    kept = "".join(c for c in value if " " <= c <= "~")
    return '"' + kept.replace("\\", "\\\\").replace('"', '\\"') + '"'


def metadata_url(public_url: str) -> str:
    return public_url.rstrip("/") + METADATA_PATH


def resource_metadata(*, public_url: str, issuer: str, dpop_algorithms: Sequence[str]) -> dict[str, Any]:
    """The proxy's protected-resource metadata document (RFC 9728 §2)."""
    return {
        "resource": public_url,
        "authorization_servers": [issuer],
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": list(dpop_algorithms),
        "resource_name": RESOURCE_NAME,
    }


def challenges(error: CredentialRejected, *, public_url: str, dpop_algorithms: Sequence[str]) -> Headers:
    """The `WWW-Authenticate` headers of a 401 for `error`."""
    bearer = f"Bearer resource_metadata={_quoted(metadata_url(public_url))}"
    if isinstance(error, ProofRejected):
        dpop = (
            f"DPoP error={_quoted(error.error)}, error_description={_quoted(error.message)}, "
            f"algs={_quoted(' '.join(dpop_algorithms))}"
        )
        headers = [(b"www-authenticate", bearer.encode()), (b"www-authenticate", dpop.encode())]
        if error.nonce is not None:
            headers.append((b"dpop-nonce", error.nonce.encode()))
        return headers
    if error.presented:
        bearer += f', error="invalid_token", error_description={_quoted(error.message)}'
    return [(b"www-authenticate", bearer.encode())]

"""Auth's pure rules: grant validation and lifecycle, token claims, API keys, signing keys, the error tree.

Nothing here does I/O; time and ids come in as arguments.
"""

from tollgate_auth.domain.apikeys import ApiKey, api_key_state, api_key_text, hash_api_key, new_api_key, revoke_api_key
from tollgate_auth.domain.grants import (
    Grant,
    GrantRequest,
    effective_status,
    ensure_usable,
    grant_state,
    new_grant,
    revoke,
)
from tollgate_auth.domain.signing_keys import SigningKey, current_signer, jwks, signing_key_state
from tollgate_auth.domain.tenants import Tenant, new_tenant, tenant_state
from tollgate_auth.domain.tokens import TokenPolicy, token_claims

__all__ = [
    "ApiKey",
    "Grant",
    "GrantRequest",
    "SigningKey",
    "Tenant",
    "TokenPolicy",
    "api_key_state",
    "api_key_text",
    "current_signer",
    "effective_status",
    "ensure_usable",
    "grant_state",
    "hash_api_key",
    "jwks",
    "new_api_key",
    "new_grant",
    "new_tenant",
    "revoke",
    "revoke_api_key",
    "signing_key_state",
    "tenant_state",
    "token_claims",
]

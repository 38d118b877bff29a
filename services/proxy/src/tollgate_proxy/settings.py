"""Proxy settings from `TOLLGATE_PROXY_*` environment variables (or explicit arguments in tests)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tollgate_contracts import TOKEN_AUDIENCE, TOKEN_ISSUER, new_id
from tollgate_servicekit.settingtypes import CommaSeparated


class Settings(BaseSettings):
    """Everything the proxy can be told. Read once, in `__main__`."""

    model_config = SettingsConfigDict(env_prefix="TOLLGATE_PROXY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    public_url: str = Field(
        default=TOKEN_AUDIENCE,
        description="The proxy's canonical URL as clients reach it (a load balancer's, with replicas): the OAuth "
        "resource of its protected-resource metadata (RFC 9728), the `aud` tokens must carry, and the origin of the "
        "`htu` DPoP proofs must name. Auth knows it as `TOLLGATE_AUTH_RESOURCE`.",
    )
    issuer: str = Field(
        default=TOKEN_ISSUER,
        description="Auth's issuer, its public URL (`TOLLGATE_AUTH_PUBLIC_URL`): the `iss` tokens must carry and "
        "the authorization server the metadata names.",
    )
    dpop_proof_max_age_seconds: float = Field(
        default=60.0, gt=0, le=600, description="How old a DPoP proof's `iat` may be (its `jti` is remembered as long)."
    )
    dpop_require_nonce: bool = Field(
        default=False, description="Whether DPoP proofs must carry a server nonce (RFC 9449 §8; `DPoP-Nonce`)."
    )
    dpop_nonce_secret: SecretStr | None = Field(
        default=None,
        description="Key of the server nonces; give every replica the same one so each accepts the others' "
        "(random per replica when unset).",
    )
    dpop_max_remembered_proofs: int = Field(
        default=100_000, ge=1, description="Bound of this replica's DPoP replay cache (`jti`s of recent proofs)."
    )
    proxy_id: str = Field(default_factory=lambda: new_id("prx"), description="This replica's id (audit, producer).")
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1)
    upstream_timeout_seconds: float = Field(
        default=300.0, gt=0, description="Longest silence from the provider, before the first byte or between two."
    )
    upstream_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    upstream_max_connections: int = Field(default=512, ge=1)
    egress_allow: CommaSeparated = Field(
        default_factory=list,
        description="`host:port` entries a provider base URL may point to although they are not public https "
        "addresses (comma-separated in the environment; the embedded stack lists its mock provider). Empty by default.",
    )
    staleness_seconds: float = Field(
        default=60.0, gt=0, description="How long the proxy serves from its cache without bus contact."
    )
    fresh_state_wait_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How long a request whose token verified waits for its grant or signing key to arrive.",
    )
    seal_timeout_seconds: float = Field(default=2.0, gt=0, description="How long to wait for keyvault's sealed key.")
    spool_dir: Path = Field(default=Path(".tollgate/proxy-spool"), description="Where unsent usage records wait.")
    spool_resend_seconds: float = Field(default=5.0, gt=0, description="How often the spool is replayed.")
    log_level: str = "INFO"
    access_log: bool = False

    @field_validator("public_url", "issuer")
    @classmethod
    def _absolute_url(cls, value: str, info: ValidationInfo) -> str:
        """Absolute http(s) URLs without query or fragment; the public URL in its canonical form, without a trailing
        slash (the issuer is compared with `iss` exactly, so it stays as given)."""
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be an absolute http(s) URL without query or fragment")
        return value.rstrip("/") if info.field_name == "public_url" else value

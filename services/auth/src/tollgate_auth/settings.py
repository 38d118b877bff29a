"""Auth's configuration, read from `TOLLGATE_AUTH_*` environment variables (or passed explicitly in tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8081"
DEFAULT_RESOURCE = "http://127.0.0.1:8080"


class Settings(BaseSettings):
    """Every knob of the auth service. Secrets are `SecretStr`, so they never show in a repr or a log."""

    model_config = SettingsConfigDict(env_prefix="TOLLGATE_AUTH_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="Interface to listen on (compose sets 0.0.0.0).")
    port: int = Field(default=8081, ge=1, le=65535, description="HTTP port.")
    log_level: str = Field(default="INFO", description="Root log level.")
    access_log: bool = Field(default=False, description="Whether uvicorn writes an access log line per request.")

    nats_url: str = Field(default="nats://127.0.0.1:4222", description="NATS server URL.")
    nats_user: str | None = Field(default=None, description="NATS user, when the server requires one.")
    nats_password: SecretStr | None = Field(default=None, description="NATS password.")
    publish_timeout_seconds: float = Field(default=5.0, gt=0, description="How long to wait for a PubAck.")

    database_url: str = Field(
        default="sqlite+aiosqlite:///tollgate-auth.db", description="SQLAlchemy async URL (aiosqlite or asyncpg)."
    )
    database_schema: str = Field(default="auth", description="PostgreSQL schema for auth's tables (ignored on SQLite).")

    admin_key: SecretStr | None = Field(default=None, description="The admin API key.")
    admin_key_file: Path | None = Field(
        default=None, description="File holding the admin key; generated (mode 0600) when missing and no key is given."
    )

    signing_kek: SecretStr | None = Field(
        default=None, description="Key-encryption key of the signing private keys at rest: base64url of 32 bytes."
    )
    signing_kek_id: str = Field(
        default="k1", description="Id of `signing_kek` (and of the key generated into a new `signing_kek_file`)."
    )
    signing_previous_keks: SecretStr | None = Field(
        default=None, description="Older KEKs still needed to decrypt stored keys: `id:base64url[,id:base64url…]`."
    )
    signing_kek_file: Path | None = Field(
        default=None,
        description="File of `<id> <base64url>` lines, the last one current; generated (mode 0600) when missing.",
    )

    default_tenant: str = Field(default="default", description="Tenant ensured at start; grants default to it.")
    public_url: str = Field(
        default=DEFAULT_PUBLIC_URL, description="Auth's public base URL: the OAuth issuer, base of its endpoints."
    )
    resource: str = Field(
        default=DEFAULT_RESOURCE, description="The proxy's canonical URL (RFC 8707 resource, `aud` of access tokens)."
    )
    issuer: str = Field(default="", description="`iss` claim of delegated tokens; `public_url` when empty.")
    audience: str = Field(default="", description="`aud` claim of delegated tokens; `resource` when empty.")
    registration: Literal["open", "admin"] = Field(
        default="open", description="Dynamic client registration (RFC 7591): open to anyone, or admin key only."
    )
    require_par: bool = Field(
        default=False, description="Refuse authorization requests not pushed first (RFC 9126) for every client."
    )
    client_metadata_loopback: bool = Field(
        default=False, description="Allow client metadata documents on loopback http URLs (tests only)."
    )
    dpop_require_nonce: bool = Field(
        default=False, description="The token endpoint wants a server nonce in DPoP proofs (RFC 9449 §8)."
    )
    dpop_nonce_secret: SecretStr | None = Field(
        default=None, description="Secret of the DPoP nonces; replicas given the same one accept each other's."
    )
    authorization_code_ttl_seconds: int = Field(default=60, ge=1, le=600, description="Lifetime of a code.")
    refresh_token_ttl_seconds: int = Field(
        default=30 * 86_400, ge=60, description="Refresh token lifetime (rotated on each use; never past its grant)."
    )
    pending_request_ttl_seconds: int = Field(
        default=600, ge=1, description="How long an authorization request waits for the owner's decision."
    )
    token_default_ttl_seconds: int = Field(default=900, ge=1, description="Token lifetime when none is asked for.")
    token_max_ttl_seconds: int = Field(default=86_400, ge=1, description="Longest token lifetime that may be asked.")
    signing_key_rotate_after_seconds: int = Field(
        default=30 * 86_400, ge=60, description="A signing key signs this long, then a new one takes over."
    )
    signing_key_check_seconds: float = Field(
        default=60.0, gt=0, description="How often the signing keys are checked (rotation due, overlaps ended)."
    )
    jwks_reload_seconds: float = Field(
        default=5.0, ge=0, description="The HTTP JWKS re-reads the keys when they are older (others' rotations)."
    )
    clock_skew_seconds: int = Field(
        default=60, ge=0, description="Clock difference allowed between auth and verifiers (added to key overlaps)."
    )

    session_idle_seconds: int = Field(
        default=3600, ge=60, description="A browser session ends after this long without a request (sign-in pages)."
    )
    session_absolute_seconds: int = Field(
        default=43_200, ge=60, description="A browser session ends this long after sign-in, however active."
    )
    password_hash_time_cost: int | None = Field(
        default=None, ge=1, description="argon2id passes (argon2-cffi's default when unset); lower only in tests."
    )
    password_hash_memory_kib: int | None = Field(
        default=None, ge=64, description="argon2id memory in KiB (argon2-cffi's default, 64 MiB, when unset)."
    )

    retry_interval_seconds: float = Field(
        default=2.0, gt=0, description="Pause between attempts to reach the database or bus, and between resyncs."
    )

    @model_validator(mode="after")
    def _urls(self) -> Settings:
        # The issuer is the public URL (RFC 8414 §2) and the audience the resource (RFC 8707), unless set apart.
        self.public_url = self.public_url.rstrip("/")
        self.resource = self.resource.rstrip("/")
        if not self.issuer:
            self.issuer = self.public_url
        if not self.audience:
            self.audience = self.resource
        return self

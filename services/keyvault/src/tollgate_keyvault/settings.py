"""Keyvault settings, from `TOLLGATE_KEYVAULT_*` environment variables (read in `__main__` only)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tollgate_servicekit.settingtypes import CommaSeparated


class Settings(BaseSettings):
    """Everything keyvault can be told. Secrets are `SecretStr`, so they never show in a repr or a log."""

    model_config = SettingsConfigDict(env_prefix="TOLLGATE_KEYVAULT_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8083
    log_level: str = "INFO"
    access_log: bool = False
    max_body_bytes: int = 64 * 1024
    """Largest request body the admin API reads (a credential is a few hundred bytes)."""

    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str | None = None
    nats_password: SecretStr | None = None

    database_url: str = "sqlite+aiosqlite:///tollgate-keyvault.db"
    database_schema: str = "keyvault"

    admin_key: SecretStr | None = None
    admin_key_file: Path | None = None

    kek: SecretStr | None = None
    """The current key-encryption key: base64url of 32 bytes."""
    kek_id: str = "k1"
    """Id of `kek` (and of the key generated into a new `kek_file`)."""
    previous_keks: SecretStr | None = None
    """Older KEKs still needed to unwrap records: `id:base64url,id:base64url` (with `kek`)."""
    kek_file: Path | None = None
    """File of `<id> <base64url>` lines, the last one current; generated (mode 0600) when missing."""

    egress_allow: CommaSeparated = []
    """`host:port` entries a credential's base URL may point to although they are not public https addresses
    (comma-separated in the environment; the embedded stack lists its mock provider). Empty by default."""

    producer: str = "keyvault"
    """Producer name on published events (a replica may add its own suffix)."""
    retry_seconds: float = 1.0
    """Pause between attempts to bring up the database and bus at start."""

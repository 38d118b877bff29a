"""Settings of the mock provider, read from `TOLLGATE_MOCK_*` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """How the mock behaves by default; tests override latency, chunking and errors per request with headers."""

    model_config = SettingsConfigDict(env_prefix="TOLLGATE_MOCK_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8090
    api_key: SecretStr | None = Field(
        default=None, description="The one key accepted; unset accepts any non-empty key (a missing key is a 401)."
    )
    latency_ms: float = Field(default=0.0, ge=0, description="Wait before the first byte of every answer.")
    chunk_delay_ms: float = Field(default=0.0, ge=0, description="Wait between two content chunks of a stream.")
    chunks: int = Field(default=8, ge=1, description="Words in a reply; a stream sends one word per content chunk.")
    error_rate: float = Field(default=0.0, ge=0, le=1, description="Share of requests answered 500 (529 on messages).")
    error_seed: int = Field(default=0, description="Seed of the injected errors, so a run is reproducible.")
    embedding_dimensions: int = Field(default=16, ge=1, le=4096)
    log_level: str = "INFO"
    access_log: bool = False

"""Configuration, read from `TOLLGATE_METERING_*` environment variables (only `__main__` reads the environment)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tollgate_metering.domain.errors import ConfigurationError
from tollgate_servicekit.secretfiles import SecretMissing, resolve_secret


class PriceSetting(BaseModel):
    """One configured price rule; `provider` and `model` are glob patterns."""

    provider: str
    model: str
    input_micro_usd_per_mtok: int = Field(ge=0)
    output_micro_usd_per_mtok: int = Field(ge=0)


class Settings(BaseSettings):
    """Everything the metering service can be told. Build it explicitly in tests: `Settings(admin_key=...)`."""

    model_config = SettingsConfigDict(env_prefix="TOLLGATE_METERING_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8082
    log_level: str = "INFO"
    access_log: bool = False

    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str | None = None
    nats_password: SecretStr | None = None

    admin_key: SecretStr | None = None
    admin_key_file: Path | None = None

    database_url: str = "sqlite+aiosqlite:///tollgate-metering.db"
    database_schema: str = "metering"

    producer: str = Field(default="metering", description="`producer` of every event this service publishes.")
    consumer_batch: int = Field(default=100, ge=1, le=1000, description="Usage records fetched (and stored) at once.")
    fetch_timeout_seconds: float = Field(default=5.0, gt=0, description="How long one idle pull waits.")
    ack_wait_seconds: float = Field(default=30.0, gt=0, description="Unacknowledged records are redelivered after.")
    retry_delay_seconds: float = Field(default=1.0, gt=0, description="Back-off after a transient failure.")
    max_body_bytes: int = Field(default=64 * 1024, gt=0, description="Larger request bodies are refused (413).")

    prices: list[PriceSetting] = Field(
        default_factory=list, description="Extra price rules (JSON); they win over built-ins with the same pattern."
    )
    fallback_input_micro_usd_per_mtok: int | None = Field(default=None, ge=0)
    fallback_output_micro_usd_per_mtok: int | None = Field(default=None, ge=0)

    def resolved_admin_key(self) -> SecretStr:
        """The admin key from `ADMIN_KEY`, else from `ADMIN_KEY_FILE`; metering refuses to start without one."""
        try:
            return resolve_secret(self.admin_key, self.admin_key_file, name="TOLLGATE_METERING_ADMIN_KEY")
        except SecretMissing as exc:
            raise ConfigurationError(
                f"no admin key ({exc}): set TOLLGATE_METERING_ADMIN_KEY or TOLLGATE_METERING_ADMIN_KEY_FILE"
            ) from exc
        except OSError as exc:
            raise ConfigurationError(f"cannot read admin key file {self.admin_key_file}: {exc.strerror}") from exc

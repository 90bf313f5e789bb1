"""The one validated Settings object (env prefix CAREBRIDGE_). Every field is documented in
docs/operations.md."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from carebridge.errors import ConfigurationError

MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAREBRIDGE_", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str | None = None
    blob_dir: Path | None = None
    secret_key: SecretStr | None = None
    demo_mode: bool = False

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    default_locale: str = "zh_CN"

    # argon2id: production cost by default; tests lower it (PLATFORM-NOTES: ~155 ms per hash).
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_kib: int = Field(65536, ge=8)

    session_hours: float = Field(12.0, gt=0)
    login_max_failures: int = Field(5, ge=1)
    login_lockout_minutes: int = Field(15, ge=1)
    break_glass_hours: float = Field(4.0, gt=0)
    upload_max_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    secure_cookies: bool = False

    @model_validator(mode="after")
    def _fill_paths(self) -> Settings:
        if self.database_url is None:
            self.database_url = f"sqlite+aiosqlite:///{(self.data_dir / 'carebridge.db').as_posix()}"
        if self.blob_dir is None:
            self.blob_dir = self.data_dir / "blobs"
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def require_secret(self) -> str:
        """Outside demo mode a real secret is mandatory; in demo mode one is kept in data_dir."""
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < MIN_SECRET_LENGTH:
                raise ConfigurationError(
                    f"CAREBRIDGE_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters"
                )
            return value
        if not self.demo_mode:
            raise ConfigurationError(
                "CAREBRIDGE_SECRET_KEY is not set. Generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`, "
                "or run `carebridge demo` for a demo instance."
            )
        return _demo_secret(self.data_dir)


def _demo_secret(data_dir: Path) -> str:
    import secrets

    path = data_dir / "demo-secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()

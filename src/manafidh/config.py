"""One settings object, read from MANAFIDH_* environment variables; fails fast on bad values."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings."""

    model_config = SettingsConfigDict(env_prefix="MANAFIDH_", extra="ignore")

    database_url: str = Field(
        default_factory=lambda: f"sqlite+pysqlite:///{Path('var/manafidh.db').resolve()}"
    )
    # Shared secret of the bank's confirmation callback (HMAC-SHA256 of the raw body).
    bank_hmac_secret: str = "change-me-bank-secret-for-development-only"
    # Shared secret of the e-payment gateway's notices (HMAC-SHA256 of the raw body).
    gateway_hmac_secret: str = "change-me-gateway-secret-for-development-only"
    default_language: str = "ar"
    session_cookie_secure: bool = False
    fast_password_hashing: bool = False
    # The deployment's Ed25519 key (PEM, 0600): signs tree heads; the audit MAC key derives from
    # it. Created on first use when missing (`manafidh audit init-key` does it explicitly).
    audit_key_file: Path = Field(default_factory=lambda: Path("var/audit-ed25519.pem").resolve())
    # A signed tree head every this many entries, and at least every this many minutes while
    # entries are appended (0 turns either off).
    audit_checkpoint_every: int = Field(default=1000, ge=0)
    audit_checkpoint_minutes: int = Field(default=10, ge=0)
    # Inspection photos, content-addressed by SHA-256, and the largest photo accepted.
    evidence_dir: Path = Field(default_factory=lambda: Path("var/evidence").resolve())
    evidence_max_photo_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("MANAFIDH_DATABASE_URL must be a sqlite or postgresql URL")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("ar", "ckb", "en"):
            raise ValueError("MANAFIDH_DEFAULT_LANGUAGE must be ar, ckb or en")
        return value

    @field_validator("bank_hmac_secret", "gateway_hmac_secret")
    @classmethod
    def _long_secret(cls, value: str) -> str:
        if len(value) < 16:
            raise ValueError("HMAC secrets (MANAFIDH_BANK_HMAC_SECRET, ...) need 16+ characters")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (read once)."""
    return Settings()

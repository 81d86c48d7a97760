"""One settings object, read from the environment and `.env` (names from DESIGN.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(Exception):
    """A missing or malformed setting; the message names it in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    DATABASE_URL: str = "sqlite+aiosqlite:///./calbot.db"
    PUBLIC_BASE_URL: str = "http://localhost:3000"
    PORT: int = Field(default=3000, ge=1, le=65535)
    HOST: str = "0.0.0.0"  # noqa: S104 - a server listens on every interface by default
    TOKEN_ENCRYPTION_KEY: str | None = None

    SLACK_BOT_TOKEN: str | None = None
    SLACK_SIGNING_SECRET: str | None = None
    SLACK_CLIENT_ID: str | None = None
    SLACK_CLIENT_SECRET: str | None = None
    SLACK_APP_TOKEN: str | None = None
    SLACK_API_URL: str | None = None

    MICROSOFT_APP_ID: str | None = None
    MICROSOFT_APP_PASSWORD: str | None = None
    MICROSOFT_APP_TENANT_ID: str | None = None
    MICROSOFT_APP_TYPE: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = "MultiTenant"

    CRONOFY_CLIENT_ID: str | None = None
    CRONOFY_CLIENT_SECRET: str | None = None
    CRONOFY_DATA_CENTER: str | None = None
    CRONOFY_API_URL: str | None = None
    CRONOFY_APP_URL: str | None = None

    CALBOT_ADMINS: str = ""
    CALBOT_ALERT_CHANNEL: str | None = None
    CALBOT_HEALTH_INTERVAL_SECONDS: int = Field(default=3600, ge=1)
    CALBOT_STALLED_CONNECT_MINUTES: int = Field(default=10, ge=1)
    CALBOT_OUTBOX_INTERVAL_SECONDS: float = Field(default=1.0, gt=0)
    # Sends in flight per delivery loop, and loops per instance: a fan-out is bound by the
    # platform's rate limit, not by round trips (bench/bench_nudges.py).
    CALBOT_OUTBOX_CONCURRENCY: int = Field(default=8, ge=1, le=64)
    CALBOT_OUTBOX_LOOPS: int = Field(default=2, ge=1, le=8)
    CALBOT_PROPOSAL_TTL_HOURS: int = Field(default=48, ge=1)
    CALBOT_LINK_TTL_DAYS: int = Field(default=7, ge=1)
    LOG_LEVEL: str = "INFO"

    @field_validator("PUBLIC_BASE_URL")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("DATABASE_URL")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL")
        return value

    @field_validator("CRONOFY_DATA_CENTER")
    @classmethod
    def _data_center(cls, value: str | None) -> str | None:
        if value and value not in {"us", "uk", "de", "au", "ca", "sg"}:
            raise ValueError("must be one of us, uk, de, au, ca, sg")
        return value or None

    # --- derived ----------------------------------------------------------------

    @property
    def uses_cronofy_sandbox(self) -> bool:
        return not self.CRONOFY_CLIENT_ID

    @property
    def slack_enabled(self) -> bool:
        return bool(self.SLACK_SIGNING_SECRET and (self.SLACK_BOT_TOKEN or self.SLACK_CLIENT_ID))

    @property
    def teams_local_mode(self) -> bool:
        """No app id: /api/messages accepts unauthenticated activities (local development)."""
        return not self.MICROSOFT_APP_ID

    @property
    def teams_enabled(self) -> bool:
        """With an app id; without one only next to the built-in Cronofy sandbox (the demo
        and tests), so a deployment that forgot the id has no open, unauthenticated route
        that would act on anyone's say-so and call any serviceUrl."""
        return bool(self.MICROSOFT_APP_ID) or self.uses_cronofy_sandbox

    @property
    def admin_ids(self) -> frozenset[str]:
        return frozenset(
            part.strip().lower() for part in self.CALBOT_ADMINS.split(",") if part.strip()
        )

    @property
    def oauth_callback_url(self) -> str:
        return f"{self.PUBLIC_BASE_URL}/oauth/cronofy/callback"

    def surfaces(self) -> dict[str, str]:
        """Which chat surfaces are on, in words for the start-up banner."""
        slack = "off (set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN or SLACK_CLIENT_ID)"
        if self.slack_enabled:
            slack = "socket mode" if self.SLACK_APP_TOKEN else "HTTP at /slack/events"
            if self.SLACK_CLIENT_ID:
                slack += f"; install at {self.PUBLIC_BASE_URL}/slack/install"
        if not self.teams_enabled:
            teams = "off (set MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD, MICROSOFT_APP_TENANT_ID)"
        elif self.teams_local_mode:
            teams = "local mode: no MICROSOFT_APP_ID, requests are not authenticated"
        else:
            teams = f"{self.MICROSOFT_APP_TYPE} app {self.MICROSOFT_APP_ID}"
        cronofy = "built-in sandbox" if self.uses_cronofy_sandbox else "Cronofy"
        return {"slack": slack, "teams": teams, "cronofy": cronofy}


def load_settings(**overrides: object) -> Settings:
    """Read settings; raise ConfigError with one line naming the first bad variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "settings"
        raise ConfigError(f"{name}: {err['msg']}") from None
    if settings.CRONOFY_CLIENT_ID and not settings.CRONOFY_CLIENT_SECRET:
        raise ConfigError("CRONOFY_CLIENT_SECRET: required when CRONOFY_CLIENT_ID is set")
    if settings.SLACK_CLIENT_ID and not settings.SLACK_CLIENT_SECRET:
        raise ConfigError("SLACK_CLIENT_SECRET: required when SLACK_CLIENT_ID is set")
    if settings.MICROSOFT_APP_TYPE == "SingleTenant" and settings.MICROSOFT_APP_ID:
        for name in ("MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID"):
            if not getattr(settings, name):
                raise ConfigError(f"{name}: required for a SingleTenant Teams bot")
    if not settings.uses_cronofy_sandbox and not settings.TOKEN_ENCRYPTION_KEY:
        raise ConfigError("TOKEN_ENCRYPTION_KEY: required when using real Cronofy")
    return settings

"""The sandbox's records and their Cronofy wire shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

# Our provider key → Cronofy's (provider_name, provider_service). Office 365 is reported
# as provider_name "exchange" by Cronofy, which the core must not mistake for on-prem.
PROVIDERS: dict[str, tuple[str, str]] = {
    "office365": ("exchange", "office365"),
    "google": ("google", "gsuite"),
}


@dataclass
class SandboxCalendar:
    calendar_id: str
    calendar_name: str
    primary: bool = False
    readonly: bool = False
    deleted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "calendar_id": self.calendar_id,
            "calendar_name": self.calendar_name,
            "calendar_readonly": self.readonly,
            "calendar_deleted": self.deleted,
            "calendar_primary": self.primary,
            "calendar_integrated_conferencing_available": True,
            "calendar_attachments_available": False,
            "permission_level": "sandbox",
        }


@dataclass
class SandboxUser:
    email: str
    name: str
    zoneinfo: str
    provider: str
    sub: str
    profile_id: str
    connected: bool = True
    initial_sync_required: bool = False
    calendars: list[SandboxCalendar] = field(default_factory=list)

    @property
    def provider_name(self) -> str:
        return PROVIDERS[self.provider][0]

    @property
    def provider_service(self) -> str:
        return PROVIDERS[self.provider][1]

    def profile_json(self, base_url: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "provider_name": self.provider_name,
            "provider_service": self.provider_service,
            "profile_id": self.profile_id,
            "profile_name": self.email,
            "profile_connected": self.connected,
            "profile_initial_sync_required": self.initial_sync_required,
        }
        if not self.connected:
            data["profile_relink_url"] = (
                f"{base_url}/relink/{self.provider_name}?email={quote(self.email)}"
            )
        return data

    def linking_profile(self) -> dict[str, str]:
        return {
            "provider_name": self.provider_name,
            "provider_service": self.provider_service,
            "profile_id": self.profile_id,
            "profile_name": self.email,
        }

    def calendars_json(self) -> list[dict[str, Any]]:
        return [
            {
                "provider_name": self.provider_name,
                "profile_id": self.profile_id,
                "profile_name": self.email,
                **calendar.to_json(),
            }
            for calendar in self.calendars
        ]

    def userinfo_json(self, base_url: str, scope: str) -> dict[str, Any]:
        profile = self.profile_json(base_url)
        profile["profile_calendars"] = [c.to_json() for c in self.calendars]
        return {
            "sub": self.sub,
            "email": self.email,
            "name": self.name,
            "zoneinfo": self.zoneinfo,
            "cronofy.type": "account",
            "cronofy.data": {
                "authorization": {"scope": scope, "status": "active"},
                "profiles": [profile],
                "conferencing_profiles": [],
            },
        }

    def to_json(self) -> dict[str, Any]:
        """The control API's view of a user (no tokens)."""
        return {
            "email": self.email,
            "name": self.name,
            "zoneinfo": self.zoneinfo,
            "provider": self.provider,
            "provider_name": self.provider_name,
            "provider_service": self.provider_service,
            "sub": self.sub,
            "profile_id": self.profile_id,
            "profile_connected": self.connected,
            "profile_initial_sync_required": self.initial_sync_required,
            "calendars": [c.to_json() for c in self.calendars],
        }


@dataclass
class AuthCode:
    code: str
    email: str
    redirect_uri: str
    scope: str
    expires_at: datetime


@dataclass
class Authorization:
    auth_id: str
    sub: str
    email: str
    scope: str
    refresh_token: str
    revoked: bool = False

    def __repr__(self) -> str:  # keeps the refresh token out of logs and test output
        return f"Authorization(auth_id={self.auth_id!r}, sub={self.sub!r}, revoked={self.revoked})"


@dataclass
class AccessToken:
    token: str
    auth_id: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"AccessToken(auth_id={self.auth_id!r}, expires_at={self.expires_at.isoformat()})"


@dataclass
class Channel:
    channel_id: str
    sub: str
    callback_url: str
    filters: dict[str, Any]

    def accepts(self, notification_type: str) -> bool:
        only = self.filters.get("only_types")
        return not only or notification_type in only

    def to_json(self) -> dict[str, Any]:
        return {
            "channel_id": self.channel_id,
            "callback_url": self.callback_url,
            "filters": self.filters,
        }


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    status: int

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "status": self.status}


@dataclass(frozen=True)
class Delivery:
    channel_id: str
    callback_url: str
    type: str
    status: int | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "channel_id": self.channel_id,
            "callback_url": self.callback_url,
            "type": self.type,
            "status": self.status,
            "error": self.error,
        }

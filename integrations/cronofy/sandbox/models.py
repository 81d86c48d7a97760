"""The sandbox's records and their Cronofy wire shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
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


def stamp(value: datetime) -> str:
    """Cronofy's UTC wire form, e.g. ``2026-05-04T09:00:00Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# free_busy_status values that make a member unavailable. Cronofy counts tentative
# meetings as busy for availability; only "free" (transparent) events leave time open.
BLOCKING_STATUSES = frozenset({"busy", "tentative"})


@dataclass
class SandboxEvent:
    """One event in a sandbox calendar: seeded (external) or written by the app (managed).

    ``start``/``end`` are aware datetimes; an all-day event keeps its local midnights, so
    free/busy can answer with dates as Cronofy does.
    """

    event_id: str
    calendar_id: str
    summary: str
    start: datetime
    end: datetime
    created_by_app: bool = False
    attendees: dict[str, str | None] = field(default_factory=dict)  # email → display_name
    description: str = ""
    tzid: str | None = None
    free_busy_status: str = "busy"
    all_day: bool = False

    @property
    def blocking(self) -> bool:
        return self.free_busy_status in BLOCKING_STATUSES

    def free_busy_json(self) -> dict[str, Any]:
        if self.all_day:
            start, end = self.start.date().isoformat(), self.end.date().isoformat()
        else:
            start, end = stamp(self.start), stamp(self.end)
        return {
            "calendar_id": self.calendar_id,
            "start": start,
            "end": end,
            "free_busy_status": self.free_busy_status,
        }

    def to_json(self) -> dict[str, Any]:
        """The control API's view, including what free/busy hides (managed flag, ids)."""
        return {
            **self.free_busy_json(),
            "event_id": self.event_id,
            "summary": self.summary,
            "description": self.description,
            "tzid": self.tzid,
            "all_day": self.all_day,
            "created_by_app": self.created_by_app,
            "attendees": [
                {"email": email, "display_name": name} for email, name in self.attendees.items()
            ],
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
    # Keyed by (calendar_id, event_id): Cronofy's upsert identity.
    events: dict[tuple[str, str], SandboxEvent] = field(default_factory=dict)

    def calendar(self, calendar_id: str) -> SandboxCalendar | None:
        return next((c for c in self.calendars if c.calendar_id == calendar_id), None)

    def primary_calendar(self) -> SandboxCalendar:
        live = [c for c in self.calendars if not c.deleted]
        return next((c for c in live if c.primary), live[0] if live else self.calendars[0])

    @property
    def sync_status(self) -> str:
        """What ``include_member_statuses`` reports for this account."""
        if not self.connected:
            return "disconnected"
        return "pending" if self.initial_sync_required else "active"

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

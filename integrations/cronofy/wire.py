"""Cronofy JSON → calbot's port types. Unknown attributes are ignored (Cronofy adds fields)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.ports import CalendarInfo, CalendarProfile, LinkedProfile, TokenSet, UserInfo

DEFAULT_EXPIRES_IN = 3600


def token_set(data: dict[str, Any], *, now: datetime) -> TokenSet:
    expires_in = int(data.get("expires_in") or DEFAULT_EXPIRES_IN)
    linked = data.get("linking_profile")
    return TokenSet(
        access_token=str(data["access_token"]),
        refresh_token=str(data["refresh_token"]),
        expires_at=now + timedelta(seconds=expires_in),
        scope=str(data.get("scope") or ""),
        sub=data.get("sub") or data.get("account_id"),
        linking_profile=linked_profile(linked) if isinstance(linked, dict) else None,
    )


def linked_profile(data: dict[str, Any]) -> LinkedProfile:
    return LinkedProfile(
        provider_name=str(data["provider_name"]),
        profile_id=str(data["profile_id"]),
        profile_name=str(data.get("profile_name") or ""),
        provider_service=data.get("provider_service"),
    )


def calendar_profile(data: dict[str, Any]) -> CalendarProfile:
    return CalendarProfile(
        provider_name=str(data["provider_name"]),
        provider_service=data.get("provider_service"),
        profile_id=str(data["profile_id"]),
        profile_name=str(data.get("profile_name") or ""),
        connected=bool(data.get("profile_connected", True)),
        initial_sync_required=bool(data.get("profile_initial_sync_required", False)),
        relink_url=data.get("profile_relink_url"),
    )


def user_info(data: dict[str, Any]) -> UserInfo:
    cronofy_data = data.get("cronofy.data") or {}
    return UserInfo(
        sub=str(data["sub"]),
        email=data.get("email"),
        # Cronofy may send a blank name; the core treats "" and None alike as "unknown".
        name=data.get("name") or None,
        zoneinfo=data.get("zoneinfo"),
        profiles=tuple(calendar_profile(p) for p in cronofy_data.get("profiles") or ()),
    )


def calendar_info(data: dict[str, Any]) -> CalendarInfo:
    return CalendarInfo(
        calendar_id=str(data["calendar_id"]),
        calendar_name=str(data.get("calendar_name") or ""),
        profile_id=str(data["profile_id"]),
        profile_name=str(data.get("profile_name") or ""),
        provider_name=str(data["provider_name"]),
        readonly=bool(data.get("calendar_readonly", False)),
        deleted=bool(data.get("calendar_deleted", False)),
        primary=bool(data.get("calendar_primary", False)),
    )

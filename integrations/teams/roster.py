"""Teams roster entries → the core's ``Member``; what a Teams roster can and cannot be.

Pure functions over the SDK's ``TeamsChannelAccount`` (read with ``getattr``, so a
successor SDK's pydantic model with the same field names works too). The gateway in
``chat.py`` does the fetching.
"""

from __future__ import annotations

from typing import Any

from bot.errors import ChatScopeUnsupported
from bot.identity import TEAMS, ChatProfile, Member, TeamRef, UserRef
from integrations.teams.address import CHANNEL_ID, Address

# The Bot Connector caps pages at 500 (asks below 50 are raised to 50): the fewest calls
# against the roster rate limit (14/s per conversation, shared with other bots).
PAGE_SIZE = 500

ASK_IN_A_TEAM = (
    "On Microsoft Teams I can only list the people of a team or group chat I'm in. "
    "Ask me there (for example “@calbot who isn't synced?”) and I'll DM you the report."
)


def roster_conversation(team: TeamRef) -> str:
    """The conversation whose roster is the team, or why there is none.

    Teams has no tenant-wide list for bots (that needs Microsoft Graph and admin
    consent), and Slack-style channel or user-group ids mean nothing here.
    """
    if team.kind != "conversation" or not team.id:
        raise ChatScopeUnsupported(ASK_IN_A_TEAM)
    return team.id


def to_member(entry: Any, tenant_id: str, dm_base: Address) -> Member | None:
    """One roster entry; None for an entry without any id (never seen, but not fatal)."""
    teams_id = _text(getattr(entry, "id", None))
    aad = _text(getattr(entry, "aad_object_id", None))
    key = aad or teams_id
    if key is None:
        return None
    role = (_text(getattr(entry, "user_role", None)) or "").lower()
    upn = _text(getattr(entry, "user_principal_name", None)) or ""
    profile = ChatProfile(
        display_name=_text(getattr(entry, "name", None)) or "",
        email=member_email(entry),
        tz=None,  # the roster has no time zone; the store keeps the activity's one
        # Teams team owners are calbot admins (for teams whose roster reports roles).
        is_admin=role == "owner",
        # Bots' channel accounts are "28:…"; Teams usually leaves them out anyway.
        is_bot=teams_id.startswith("28:") if teams_id else False,
        # B2B guests: the role when Teams reports it, else the "#EXT#" guest UPN.
        is_guest=role == "guest" or "#EXT#" in upn.upper(),
    )
    address: Address = {
        **dm_base,
        "tenant_id": tenant_id,
        # No 1:1 chat yet: the first DM creates it (Teams returns the existing one).
        "conversation_id": None,
        "conversation_type": "personal",
        "user_id": teams_id or key,
        "user_aad_id": aad,
        "channel_id": CHANNEL_ID,
    }
    # Users are keyed by tenant + Entra object id everywhere (see handler.actor).
    return Member(user=UserRef(TEAMS, tenant_id, key), profile=profile, address=address)


def member_email(member: Any) -> str | None:
    """E-mail from a roster entry. Microsoft may withhold it; the UPN is usually the mail."""
    for candidate in (getattr(member, "email", None), getattr(member, "user_principal_name", None)):
        if isinstance(candidate, str) and "@" in candidate and "#EXT#" not in candidate.upper():
            return candidate
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None

"""`python app.py teams-package`: the zip an admin uploads to Teams.

manifest.json (schema v1.29, the current GA version per reference/teams.md §6) plus the
two icons it names, all at the root of the zip. The bot id is MICROSOFT_APP_ID; the app
id reuses it, which is what a single-bot app conventionally does and keeps one GUID to
manage. Entries carry a fixed timestamp so the same settings give the same bytes.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit

from bot.settings import Settings
from integrations.ops.png import Canvas, hex_rgba

MANIFEST_VERSION = "1.29"
SCHEMA_URL = (
    "https://developer.microsoft.com/en-us/json-schemas/teams/"
    f"v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
)
ACCENT = "#1d4e89"  # the Slack app's background colour: one brand across both
COLOR_ICON = "color.png"
OUTLINE_ICON = "outline.png"
SCOPES = ["personal", "team", "groupChat"]
# What Teams shows in the compose box's command menu; the text sent is the title, which
# bot/commands.py reads like `/calendar <title>` in Slack.
COMMANDS = [
    ("connect", "Connect your calendar: calbot sends you a private, single-use link"),
    ("status", "Is your calendar connected? Admins: status @person"),
    ("team", "Who in this team or chat isn't synced yet, with buttons to nudge them"),
    ("propose", "Propose interview slots to a panel from their real availability"),
    ("help", "What calbot can do and how to ask"),
]
SHORT_DESCRIPTION = "Connect calendars, see who isn't synced, and schedule interviews."
FULL_DESCRIPTION = (
    "calbot connects interviewers' calendars (Office 365, Google, iCloud, Exchange) through "
    "Cronofy so recruiting teams can schedule interviews around real availability. Say "
    "'connect' to get a personal, single-use link in a 1:1 chat; the message changes to "
    "'Connected' as soon as your calendar is linked. 'status' shows your own connection; "
    "admins can ask who in a team or group chat isn't synced yet and nudge them. 'propose' "
    "offers interview slots to a panel and books the one everybody accepts. When Microsoft "
    "blocks a connection with a consent error, calbot tells your admins what happened and "
    "exactly how to fix it."
)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_FIXED_TIME = (2024, 1, 1, 0, 0, 0)


class PackageError(Exception):
    """The package can't be built from these settings; the message is one line."""


@dataclass(frozen=True)
class Developer:
    name: str = "calbot"
    website_url: str | None = None  # default: PUBLIC_BASE_URL
    privacy_url: str | None = None
    terms_url: str | None = None


def app_version() -> str:
    try:
        return metadata.version("calbot")
    except metadata.PackageNotFoundError:
        return "0.1.0"


def build_manifest(
    settings: Settings, *, developer: Developer | None = None, version: str | None = None
) -> dict[str, Any]:
    app_id = (settings.MICROSOFT_APP_ID or "").strip()
    if not app_id:
        raise PackageError(
            "MICROSOFT_APP_ID is not set: the package needs the bot's Microsoft app id"
        )
    if not _GUID.match(app_id):
        raise PackageError(f"MICROSOFT_APP_ID must be a GUID (the Entra app id), not {app_id!r}")
    dev = developer or Developer()
    base = settings.PUBLIC_BASE_URL
    commands = [{"title": t, "description": d} for t, d in COMMANDS]
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": version or app_version(),
        "id": app_id,
        "developer": {
            "name": dev.name,
            "websiteUrl": dev.website_url or base,
            "privacyUrl": dev.privacy_url or base,
            "termsOfUseUrl": dev.terms_url or base,
        },
        "name": {"short": "calbot", "full": "calbot: interview calendars and scheduling"},
        "description": {"short": SHORT_DESCRIPTION, "full": FULL_DESCRIPTION},
        "icons": {"color": COLOR_ICON, "outline": OUTLINE_ICON},
        "accentColor": ACCENT,
        "bots": [
            {
                "botId": app_id,
                "scopes": list(SCOPES),
                "isNotificationOnly": False,
                "supportsFiles": False,
                "commandLists": [{"scopes": list(SCOPES), "commands": commands}],
            }
        ],
        # Proactive 1:1 messages (connect links, nudges) to team members.
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": valid_domains(base),
    }


def valid_domains(public_base_url: str) -> list[str]:
    """The host users' browsers reach calbot on (connect links); no scheme, no port."""
    host = urlsplit(public_base_url).hostname
    return [host] if host else []


def color_icon() -> bytes:
    """192×192: a white calendar on the accent colour, full bleed (Teams masks corners)."""
    accent, dark, white = hex_rgba(ACCENT), hex_rgba("#10325c"), hex_rgba("#ffffff")
    c = Canvas(192, 192, accent)
    c.rect(40, 48, 152, 156, white, radius=12)  # the page
    c.rect(40, 48, 152, 76, dark, radius=12)  # header band (top corners rounded)
    c.rect(40, 64, 152, 76, dark)  # square off the band's bottom edge
    for x in (66, 118):  # binder rings
        c.rect(x, 36, x + 8, 60, white, radius=4)
    for row in range(3):  # day cells
        for col in range(4):
            x, y = 54 + col * 22, 88 + row * 20
            c.rect(x, y, x + 14, y + 12, accent, radius=2)
    return c.to_png()


def outline_icon() -> bytes:
    """32×32: white strokes on full transparency, as Teams requires of outline icons."""
    white = hex_rgba("#ffffff")
    c = Canvas(32, 32)
    c.frame(4, 7, 28, 28, 2, white)  # the page
    c.rect(4, 11, 28, 13, white)  # header rule
    for x in (10, 20):  # binder rings
        c.rect(x, 4, x + 2, 9, white)
    for row in range(2):  # day cells
        for col in range(3):
            x, y = 9 + col * 5, 16 + row * 5
            c.rect(x, y, x + 3, y + 3, white)
    return c.to_png()


def build_package(manifest: dict[str, Any]) -> bytes:
    files = {
        "manifest.json": json.dumps(manifest, indent=2, ensure_ascii=False).encode() + b"\n",
        COLOR_ICON: color_icon(),
        OUTLINE_ICON: outline_icon(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def public_url_warning(settings: Settings) -> str | None:
    """Teams reaches calbot only over public HTTPS; say so, but still build (dev uploads)."""
    parts = urlsplit(settings.PUBLIC_BASE_URL)
    if parts.scheme != "https" or parts.hostname in {"localhost", "127.0.0.1", "::1"}:
        return (
            f"note: PUBLIC_BASE_URL is {settings.PUBLIC_BASE_URL}; Teams and people's browsers "
            "need a public https:// address (validDomains and developer URLs use it)"
        )
    return None

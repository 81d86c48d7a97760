"""Who is who: platform-neutral references to chat users and the messages sent to them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SLACK = "slack"
TEAMS = "teams"
CONSOLE = "console"


@dataclass(frozen=True)
class UserRef:
    """A chat user: platform, workspace (Slack team id / Teams tenant id) and user id."""

    platform: str
    workspace_id: str
    user_id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.workspace_id}:{self.user_id}"


@dataclass(frozen=True)
class ChatProfile:
    """What a chat platform tells us about a user."""

    display_name: str = ""
    email: str | None = None
    tz: str | None = None
    is_admin: bool = False
    is_bot: bool = False
    deleted: bool = False
    is_guest: bool = False


@dataclass(frozen=True)
class Recipient:
    """Where to send a DM: the user plus the adapter's own address for them (Teams needs it)."""

    user: UserRef
    address: dict[str, Any] | None = None
    # Post in this channel of the user's workspace instead of a DM (consent alerts).
    channel: str | None = None


@dataclass(frozen=True)
class SentMessage:
    """An adapter's opaque reference to a message it sent, kept so it can be edited later."""

    platform: str
    ref: dict[str, Any] = field(default_factory=dict)


_LABEL_JUNK = re.compile(r"[<>&|*_~`\x00-\x1f]")


@dataclass(frozen=True)
class TeamRef:
    """A set of people: a Slack user group or channel, a Teams team or chat, or everyone."""

    kind: str  # "usergroup" | "channel" | "conversation" | "workspace"
    id: str
    label: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    def token(self) -> str:
        """`str(self)` plus the label, for a button value: a report opened from a button
        says "#interviewers", not "#C0123"."""
        return f"{self}|{self.label}" if self.label else str(self)

    @classmethod
    def parse(cls, value: str) -> TeamRef:
        """The inverse of `token()` (and of `str()`). A label comes back from a button a
        client could have crafted, so it loses anything that could be markup."""
        ref, _, label = value.partition("|")
        kind, _, ident = ref.partition(":")
        return cls(kind, ident, _LABEL_JUNK.sub("", label)[:128])


@dataclass(frozen=True)
class Member:
    """One person on a team roster, as the chat platform describes them."""

    user: UserRef
    profile: ChatProfile
    address: dict[str, Any] | None = None

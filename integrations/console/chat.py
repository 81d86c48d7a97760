"""The console ChatPort: keeps every simulated user's DMs in memory, edits them in place."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.errors import ChatNotFound
from bot.identity import CONSOLE, ChatProfile, Member, Recipient, SentMessage, TeamRef, UserRef
from bot.messages import Message

WORKSPACE = "local"


@dataclass
class Dm:
    id: str
    user_id: str
    message: Message
    edits: int = 0


@dataclass
class ConsoleChat:
    """Implements `ChatPort` for the terminal; `on_message` shows new and edited DMs."""

    on_message: Callable[[Dm, bool], None] | None = None
    profiles: dict[str, ChatProfile] = field(default_factory=dict)
    # channel name -> member user ids; the "workspace" is everyone in `profiles`.
    channels: dict[str, list[str]] = field(default_factory=dict)
    dms: dict[str, Dm] = field(default_factory=dict)
    platform: str = CONSOLE
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send_dm(self, recipient: Recipient, message: Message) -> SentMessage:
        dm = Dm(id=str(next(self._ids)), user_id=recipient.user.user_id, message=message)
        self.dms[dm.id] = dm
        if self.on_message:
            self.on_message(dm, False)
        return SentMessage(CONSOLE, {"id": dm.id})

    async def post_to_channel(
        self, workspace_id: str, channel: str, message: Message
    ) -> SentMessage:
        dm = Dm(id=str(next(self._ids)), user_id=f"#{channel}", message=message)
        self.dms[dm.id] = dm
        if self.on_message:
            self.on_message(dm, False)
        return SentMessage(CONSOLE, {"id": dm.id})

    async def update(self, sent: SentMessage, message: Message) -> None:
        dm = self.dms.get(str(sent.ref.get("id")))
        if dm is None:
            raise ChatNotFound("no such console message")
        dm.message = message
        dm.edits += 1
        if self.on_message:
            self.on_message(dm, True)

    async def profile(self, user: UserRef) -> ChatProfile:
        known = self.profiles.get(user.user_id)
        if known is not None:
            return known
        if self.profiles:  # a roster is set up: someone outside it doesn't exist here
            raise ChatNotFound(f"no console user {user.user_id}")
        return default_profile(user.user_id)

    async def members(
        self, workspace_id: str, team: TeamRef, *, on_behalf_of: Recipient | None = None
    ) -> list[Member]:
        if team.kind == "workspace":
            ids = list(self.profiles)
        elif team.id in self.channels:
            ids = self.channels[team.id]
        else:
            raise ChatNotFound(f"no channel {team.id}")
        return [
            Member(user=user_ref(uid), profile=await self.profile(user_ref(uid))) for uid in ids
        ]

    def inbox(self, user_id: str) -> list[Dm]:
        return [dm for dm in self.dms.values() if dm.user_id == user_id]


def default_profile(user_id: str) -> ChatProfile:
    return ChatProfile(
        display_name=user_id.capitalize(),
        email=f"{user_id}@contoso.com",
        tz="Europe/London",
    )


def user_ref(user_id: str) -> UserRef:
    return UserRef(CONSOLE, WORKSPACE, user_id)


def demo_chat(**kwargs: object) -> ConsoleChat:
    """A small organisation for the demo: a team of interviewers, one admin, one bot."""
    chat = ConsoleChat(**kwargs)  # type: ignore[arg-type]
    people = {
        "alice": ("Alice Admin", "Europe/London", True),
        "bob": ("Bob Baker", "Europe/London", False),
        "carol": ("Carol Chen", "America/New_York", False),
        "dan": ("Dan Dubois", "Europe/Paris", False),
        "erin": ("Erin Evans", "Australia/Sydney", False),
    }
    for uid, (name, tz, admin) in people.items():
        chat.profiles[uid] = ChatProfile(
            display_name=name, email=f"{uid}@contoso.com", tz=tz, is_admin=admin
        )
    chat.profiles["standup-bot"] = ChatProfile(display_name="Standup Bot", is_bot=True)
    chat.channels["interviewers"] = [*people, "standup-bot"]
    return chat

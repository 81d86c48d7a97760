"""The console ChatPort: keeps every simulated user's DMs in memory, edits them in place."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.errors import ChatNotFound
from bot.identity import CONSOLE, ChatProfile, Recipient, SentMessage, UserRef
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
    dms: dict[str, Dm] = field(default_factory=dict)
    platform: str = CONSOLE
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send_dm(self, recipient: Recipient, message: Message) -> SentMessage:
        dm = Dm(id=str(next(self._ids)), user_id=recipient.user.user_id, message=message)
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
        return self.profiles.get(user.user_id) or default_profile(user.user_id)

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

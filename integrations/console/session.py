"""Drives the bot as a person at a terminal would: type, press buttons, follow links."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace

import httpx

from bot.connect import Actor
from bot.dispatch import Bot
from bot.identity import TeamRef
from bot.messages import Button, Message
from integrations.console.chat import ConsoleChat, Dm, user_ref


@dataclass(frozen=True)
class BrowserVisit:
    """What a browser ended on after following a link through the sign-in."""

    status: int
    title: str
    url: str
    # What the page said, when the browser stayed on the identity provider's error page.
    text: str = ""


_TITLE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


class ConsoleSession:
    def __init__(self, bot: Bot, chat: ConsoleChat, *, user: str = "alice") -> None:
        self.bot = bot
        self.chat = chat
        self.user = user

    def actor(self) -> Actor:
        ref = user_ref(self.user)
        profile = self.chat.profiles.get(self.user)
        if profile is None:
            from integrations.console.chat import default_profile

            profile = default_profile(self.user)
        return Actor(user=ref, profile=profile)

    async def say(self, text: str, *, channel: str | None = None) -> Message:
        """Type a command; `channel` is where it was typed (default: a DM to the bot)."""
        actor = self.actor()
        if channel is not None:
            actor = replace(actor, channel=TeamRef("channel", channel, channel))
        return await self.bot.command(actor, self._escape(text))

    def _escape(self, text: str) -> str:
        """Console users type @bob and #interviewers; the core expects escaped mentions."""

        def user_or_group(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in self.chat.channels and name not in self.chat.profiles:
                return f"<#{name}|{name}>"
            return f"<@{name}|{name}>"

        text = re.sub(r"(?<![<\w])@([\w.-]+)", user_or_group, text)
        return re.sub(r"(?<![<\w])#([\w.-]+)", r"<#\1|\1>", text)

    def inbox(self) -> list[Dm]:
        return self.chat.inbox(self.user)

    def last_dm(self) -> Dm:
        inbox = self.inbox()
        if not inbox:
            raise LookupError(f"{self.user} has no DMs")
        return inbox[-1]

    def buttons(self) -> list[Button]:
        """Buttons of the user's DMs, newest message first, numbered from 1 as shown."""
        return [b for dm in reversed(self.inbox()) for b in dm.message.buttons()]

    async def press(self, button: Button) -> Message | None:
        return await self.bot.action(self.actor(), button.action_id, button.value)

    async def submit(self, form_id: str, values: dict[str, str | list[str]]) -> object:
        """Submit a form the way the console prompts do (returns errors or the reply)."""
        escaped = {
            key: [self._user_id(v) for v in value] if isinstance(value, list) else value
            for key, value in values.items()
        }
        return await self.bot.submit(self.actor(), form_id, escaped)

    @staticmethod
    def _user_id(value: str) -> str:
        return value.strip().lstrip("@")

    async def press_action(self, action_id: str, value: str) -> Message | None:
        """A crafted button press, as a hostile client could send one."""
        return await self.bot.action(self.actor(), action_id, value)

    async def follow_connect_link(
        self, url: str, *, sandbox_url: str, email: str | None = None, decision: str = "approve"
    ) -> BrowserVisit:
        """Open a connect link and act out the sign-in page of the Cronofy sandbox."""
        async with httpx.AsyncClient(timeout=30) as http:
            first = await http.get(url, follow_redirects=False)
            if first.status_code != 302:
                return BrowserVisit(first.status_code, _title(first.text), url)
            authorize = first.headers["location"]
            answer = await http.post(
                f"{sandbox_url}/_sandbox/approve",
                json={
                    "authorize_url": authorize,
                    "email": email or f"{self.user}@contoso.com",
                    "decision": decision,
                },
            )
            answer.raise_for_status()
            location = answer.json()["location"]
            if location is None:  # Microsoft showed an error page and the user is stuck there
                page = answer.json()["page"]
                return BrowserVisit(page["status"], page["title"], authorize, page.get("text", ""))
            final = await http.get(location, follow_redirects=True)
            return BrowserVisit(final.status_code, _title(final.text), location)


async def grant_admin_consent(sandbox_url: str, admin_consent_url: str) -> str:
    """In the sandbox, following Microsoft's admin-consent link grants it for the tenant."""
    tenant = admin_consent_url.split("login.microsoftonline.com/", 1)[-1].split("/", 1)[0]
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(
            f"{sandbox_url}/_sandbox/outcomes", json={"match": tenant, "outcome": "approve"}
        )
        answer.raise_for_status()
    return tenant


def _title(page: str) -> str:
    match = _TITLE.search(page)
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1)).strip()) if match else ""

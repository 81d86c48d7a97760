"""The interactive console chat behind `python app.py demo` and `python app.py console`."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

import httpx

from bot.forms import Form
from bot.messages import Button, Message
from integrations.console.chat import ConsoleChat, Dm, default_profile, demo_chat
from integrations.console.render import render
from integrations.console.session import ConsoleSession, grant_admin_consent

BANNER = """\
calbot console — you are chatting as {user}.
Type a command as you would in Slack, e.g. /calendar connect, /calendar status, /calendar help,
or ask "who isn't synced in #interviewers?" (alice is an admin; bob, carol, dan and erin are
interviewers).
Press a button by typing its number. Other commands: `as NAME` (become someone else),
`inbox` (your DMs), `quit`.
"""


class Repl:
    def __init__(
        self,
        session: ConsoleSession,
        *,
        sandbox_url: str | None,
        settle: Callable[[], Awaitable[None]],
        write: Callable[[str], None] = print,
        read: Callable[[], Awaitable[str | None]] | None = None,
    ) -> None:
        self.session = session
        self.sandbox_url = sandbox_url
        self.settle = settle
        self.write = write
        self.read = read or _read_stdin
        self.reply_buttons: list[Button] = []
        self.pending_form: Form | None = None

    @staticmethod
    def show_dm(write: Callable[[str], None]) -> Callable[[Dm, bool], None]:
        def show(dm: Dm, edited: bool) -> None:
            label = "DM edited" if edited else "DM"
            write(f"\n--- {label} to {dm.user_id} (#{dm.id}) ---\n{render(dm.message)}\n")

        return show

    async def run(self) -> None:
        self.write(BANNER.format(user=self.session.user))
        while True:
            line = await self.read()
            if line is None:
                return
            line = line.strip()
            if not line:
                continue
            if line in {"quit", "exit"}:
                return
            await self.handle(line)
            if self.pending_form is not None:
                await self.fill_form()
            await self.settle()

    async def handle(self, line: str) -> None:
        if line.startswith("as "):
            self.session.user = line[3:].strip().lower() or self.session.user
            if self.session.user not in self.session.chat.profiles:
                self.session.chat.profiles[self.session.user] = default_profile(self.session.user)
            self.write(f"You are now {self.session.user}.")
            return
        if line == "inbox":
            for dm in self.session.inbox():
                self.write(f"#{dm.id}\n{render(dm.message)}\n")
            return
        if line.startswith("sandbox "):
            await self.sandbox_command(line.split()[1:])
            return
        if line.isdigit():
            await self.press(int(line))
            return
        self._reply(await self.session.say(line))

    async def press(self, number: int) -> None:
        buttons = self.session.buttons() + self.reply_buttons
        if not 1 <= number <= len(buttons):
            self.write(f"There is no button {number}. Type `inbox` to see your messages.")
            return
        button = buttons[number - 1]
        if button.url:
            await self.open_link(button)
            return
        reply = await self.session.press(button)
        if reply is not None:
            self._reply(reply)

    async def open_link(self, button: Button) -> None:
        assert button.url is not None
        if self.sandbox_url is None:
            self.write(f"Open this link in your browser:\n  {button.url}")
            return
        if "/adminconsent" in button.url:
            tenant = await grant_admin_consent(self.sandbox_url, button.url)
            self.write(f"Browser (sandbox): admin consent granted for {tenant}.")
            return
        if "/connect/" not in button.url:
            self.write(f"Open this link in your browser:\n  {button.url}")
            return
        self.write(
            "This opens the sign-in page (the built-in Cronofy sandbox stands in for Microsoft).\n"
            "  [a] accept   [c] cancel   [p] print the link to open it in a browser"
        )
        choice = ((await self.read()) or "a").strip().lower()[:1] or "a"
        if choice == "p":
            self.write(f"  {button.url}")
            return
        visit = await self.session.follow_connect_link(
            button.url,
            sandbox_url=self.sandbox_url,
            decision="cancel" if choice == "c" else "approve",
        )
        self.write(f"Browser: {visit.title} (HTTP {visit.status})")
        if visit.text:
            self.write(f"The page says:\n{visit.text}")
            self.write("Paste it to calbot, as a person would copy it from the page? [y/n]")
            if ((await self.read()) or "y").strip().lower().startswith("y"):
                self._reply(await self.session.say(visit.text))

    async def sandbox_command(self, words: list[str]) -> None:
        """`sandbox block contoso.com [need_admin_approval|app_blocked|not_assigned]`."""
        if self.sandbox_url is None or len(words) < 2 or words[0] not in {"block", "allow"}:
            self.write("Usage: sandbox block DOMAIN [need_admin_approval|app_blocked|not_assigned]")
            self.write("       sandbox allow DOMAIN")
            return
        outcome = (
            "approve"
            if words[0] == "allow"
            else (words[2] if len(words) > 2 else "need_admin_approval")
        )
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.post(
                f"{self.sandbox_url}/_sandbox/outcomes",
                json={"match": words[1], "outcome": outcome},
            )
        if answer.status_code >= 400:
            self.write(f"The sandbox refused: {answer.text[:200]}")
            return
        self.write(f"Sandbox: sign-ins from {words[1]} now get “{outcome}”.")

    def _reply(self, message: Message) -> None:
        first = len(self.session.buttons()) + 1
        self.reply_buttons = message.buttons()
        if message.form is not None:
            self.pending_form = message.form
            self.write(
                f"== {message.form.title} == (answer each question; Enter keeps the default)"
            )
            return
        self.write(render(message, first_button=first))

    async def fill_form(self) -> None:
        """Ask each field in turn, submit, and ask again only for fields with errors."""
        form = self.pending_form
        if form is None:
            return
        self.pending_form = None
        values: dict[str, str | list[str]] = {}
        fields = list(form.fields)
        while True:
            for field in fields:
                default = field.initial if isinstance(field.initial, str) else ""
                hint = (
                    " (names separated by spaces, e.g. @bob @carol)"
                    if field.kind == "users"
                    else ""
                )
                shown = f" [{default}]" if default else ""
                self.write(f"{field.label}{hint}{shown}:")
                answer = ((await self.read()) or "").strip() or default
                if field.kind == "users":
                    values[field.id] = [w.lstrip("@") for w in answer.split() if w.strip("@")]
                else:
                    values[field.id] = answer
            result = await self.session.bot.submit(self.session.actor(), form.id, values)
            if isinstance(result, dict):
                for field_id, message in result.items():
                    self.write(f"  ✗ {field_id}: {message}")
                fields = [f for f in form.fields if f.id in result]
                continue
            self._reply(result)
            return


async def _read_stdin() -> str | None:
    if sys.stdin.isatty():
        sys.stdout.write("> ")
        sys.stdout.flush()
    line = await asyncio.to_thread(sys.stdin.readline)
    return line if line else None


def make_console_chat(write: Callable[[str], None] = print) -> ConsoleChat:
    return demo_chat(on_message=Repl.show_dm(write))

"""Cards for the connect flow, defined once and rendered by every chat adapter."""

from __future__ import annotations

from datetime import datetime

from bot.messages import Actions, Button, Context, Header, Message, Section
from bot.slots.tz import zone_or_utc

HELP_TEXT = (
    "**calbot** connects your calendar so interviews can be scheduled around it.\n"
    "• `/calendar connect` — get your personal link to connect your calendar\n"
    "• `/calendar status` — see whether your calendar is connected\n"
    "• `/calendar team [#channel|@group]` — admins: who on a team isn't connected, and why\n"
    "• or just ask me: “who isn't synced in #interviewers?”, “is @alice connected?”\n"
    "• `/calendar digest on [#channel|@group] [below 80%]` — admins: a weekly DM naming the "
    "teams below that share of connected calendars (`/calendar digest` to see or stop it)\n"
    "• `/calendar disconnect` — disconnect your calendar and delete calbot's access\n"
    "• `/calendar help` — this message"
)


def help_card() -> Message:
    return Message(text="calbot help", blocks=(Section(text=HELP_TEXT),))


def connect_link_card(
    url: str, *, expires: str, asked_by: str | None = None, intro: str | None = None
) -> Message:
    lead = "Connect your calendar so interviews can be scheduled around your real availability."
    if asked_by:
        lead = f"{asked_by} asked you to connect your calendar. " + lead
    intro = f"{intro} {lead}" if intro else lead
    return Message(
        text="Connect your calendar",
        blocks=(
            Header(text="Connect your calendar"),
            Section(text=intro),
            Actions(
                buttons=(
                    Button(
                        label="Connect your calendar",
                        action_id="connect.open",
                        url=url,
                        style="primary",
                    ),
                )
            ),
            Context(
                text=f"This link is personal to you: please don't forward it. It works once and "
                f"expires {expires}. You'll sign in with Microsoft (or Google) through Cronofy."
            ),
        ),
    )


def connected_card(*, provider: str, account: str, chat_name: str, when: str) -> Message:
    text = f"Connected: {provider} ({account})"
    return Message(
        text=text,
        blocks=(
            Section(text=f"✅ **{text}**"),
            Context(
                text=f"Connected {when} for chat user {chat_name}. "
                "If this isn't your calendar, disconnect it now."
            ),
            Actions(
                buttons=(
                    Button(
                        label="Not me? Disconnect",
                        action_id="connect.disconnect",
                        value="self",
                        style="danger",
                    ),
                )
            ),
        ),
    )


def already_connected_card(*, provider: str, account: str, since: str) -> Message:
    return Message(
        text=f"Your calendar is already connected: {provider} ({account})",
        blocks=(
            Section(
                text=f"Your calendar is already connected: **{provider}** ({account}), "
                f"since {since}."
            ),
            reconnect_or_disconnect(),
        ),
    )


def new_link_button(label: str, *, primary: bool = False) -> Button:
    """A button that DMs whoever presses it a fresh personal connect link."""
    return Button(
        label=label,
        action_id="connect.reconnect",
        value="self",
        style="primary" if primary else None,
    )


def reconnect_or_disconnect() -> Actions:
    """The two buttons for someone whose calendar is connected."""
    return Actions(
        buttons=(
            new_link_button("Reconnect"),
            Button(
                label="Disconnect", action_id="connect.disconnect", value="self", style="danger"
            ),
        )
    )


def connect_failed_card(reason: str) -> Message:
    return Message(
        text="Connecting your calendar didn't finish",
        blocks=(
            Section(text=f"⚠️ Connecting your calendar didn't finish: {reason}"),
            Actions(buttons=(new_link_button("Get a new link", primary=True),)),
        ),
    )


def link_superseded_card() -> Message:
    return Message(
        text="This link was replaced by a newer one",
        blocks=(Context(text="This link was replaced by a newer one below."),),
    )


def disconnected_card(provider: str, account: str) -> Message:
    return Message(
        text=f"Disconnected {provider} ({account})",
        blocks=(
            Section(
                text=f"Disconnected **{provider}** ({account}). calbot's access to it was "
                "revoked and its tokens deleted."
            ),
            Actions(buttons=(new_link_button("Connect again"),)),
        ),
    )


def fmt_when(moment: datetime, tz: str | None) -> str:
    """A moment in the reader's own time zone, e.g. 'Fri 27 Nov 10:32 (Europe/London)'."""
    zone = zone_or_utc(tz)
    local = moment.astimezone(zone)
    return f"{local:%a %d %b %H:%M} ({zone.key})"

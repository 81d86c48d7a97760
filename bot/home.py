"""The personal page: Slack's App Home tab, and the Teams/console `home` answer."""

from __future__ import annotations

from bot.cards import new_link_button, reconnect_or_disconnect
from bot.messages import Actions, Context, Divider, Header, Message, Section
from bot.records import ConnectionRecord

_STATE_WORDS = {
    "connected": "connected",
    "needs_relink": "need to reconnect",
    "revoked": "lost access (revoked or expired)",
}


def home_card(
    *,
    name: str,
    connection: ConnectionRecord | None,
    is_admin: bool,
    counts: dict[str, int] | None = None,
) -> Message:
    blocks: list = [Header(text="calbot")]
    if connection is None:
        blocks += [
            Section(
                text=f"Hi {name}. Your calendar isn't connected yet, so interviews can't be "
                "scheduled around it."
            ),
            Actions(buttons=(new_link_button("Connect your calendar", primary=True),)),
        ]
    elif connection.is_healthy:
        blocks += [
            Section(
                text=f"✅ Your calendar is connected: **{connection.provider_label}** "
                f"({connection.profile_name})."
            ),
            reconnect_or_disconnect(),
        ]
    else:
        blocks += [
            Section(
                text=f"⚠️ Your calendar connection needs attention: "
                f"{_STATE_WORDS.get(connection.state, connection.state)}."
            ),
            Actions(buttons=(new_link_button("Reconnect", primary=True),)),
        ]
    if is_admin:
        counts = counts or {}
        lines = [f"• {n} {_STATE_WORDS.get(state, state)}" for state, n in sorted(counts.items())]
        problems = sum(n for state, n in counts.items() if state != "connected")
        blocks += [
            Divider(),
            Section(
                text="**For admins**\n"
                + ("\n".join(lines) if lines else "Nobody has connected a calendar yet.")
                + (f"\n{problems} connection(s) need attention." if problems else "")
            ),
            Context(
                text="Ask “who isn't synced in #channel?” or use `/calendar team` for a team "
                "report with nudge buttons."
            ),
        ]
    return Message(text="calbot: your calendar connection", blocks=tuple(blocks))

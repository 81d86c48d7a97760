"""The team report and nudge cards, paged to stay inside every platform's message limits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.identity import TeamRef
from bot.messages import Actions, Block, Button, Context, Header, Message, Section
from bot.sync_status import REASONS, MemberStatus, TeamStatus

MAX_BLOCKS = 45  # Slack allows 50 per message; leave room for the footer
MAX_SECTION = 2800  # Slack's section text limit is 3000 characters
# Teams caps a card at ~28 KB of JSON; mentions add entities per name. 10,000 characters
# of text per page keeps every platform's message comfortably inside its limit.
MAX_PAGE_CHARS = 10_000
PERSON_BUTTONS = 15  # beyond this, "Nudge all" is the way
MAX_DIGEST_TEAMS = 10

if TYPE_CHECKING:
    from bot.digest import TeamLine


def mention(status: MemberStatus) -> str:
    name = status.member.profile.display_name or status.member.user.user_id
    return f"<@{status.member.user.user_id}|{name}>"


def _line(status: MemberStatus) -> str:
    return f"• {mention(status)}" + (f" — {status.detail}" if status.detail else "")


def _sections(title: str, lines: list[str]) -> list[Section]:
    """One section per ~2,800 characters, so no text field is ever rejected."""
    sections: list[Section] = []
    current = f"**{title}**"
    for line in lines:
        if len(current) + len(line) + 1 > MAX_SECTION:
            sections.append(Section(text=current))
            current = f"**{title} (continued)**"
        current += "\n" + line
    sections.append(Section(text=current))
    return sections


def team_report_pages(
    status: TeamStatus, team: TeamRef, *, updated: str, consent_option: str | None = None
) -> list[Message]:
    summary = f"{len(status.connected)} of {status.counted} connected"
    head: list[Block] = [
        Header(text=f"Calendar sync: {status.label}"[:150]),
        Section(text=f"**{summary}**"),
    ]
    if status.excluded:
        parts = ", ".join(f"{n} {kind}" for kind, n in sorted(status.excluded.items()))
        head.append(Context(text=f"Not counted: {parts}."))
    body: list[Block] = []
    for reason, people in status.groups():
        body.extend(_sections(f"{REASONS[reason]} ({len(people)})", [_line(p) for p in people]))
    if not status.missing and status.counted:
        body.append(Section(text="Everyone on this team can be scheduled. 🎉"))
    footer: list[Block] = []
    nudgeable = status.missing[:PERSON_BUTTONS]
    for start in range(0, len(nudgeable), 5):
        footer.append(
            Actions(
                buttons=tuple(
                    Button(
                        label=f"Nudge {p.member.profile.display_name or p.member.user.user_id}"[
                            :70
                        ],
                        action_id="status.nudge_one",
                        value=p.member.user.user_id,
                    )
                    for p in nudgeable[start : start + 5]
                )
            )
        )
    buttons = [Button(label="Refresh", action_id="status.refresh", value=team.token())]
    if status.missing:
        buttons.insert(
            0,
            Button(
                label=f"Nudge all not connected ({len(status.missing)})",
                action_id="status.nudge_all",
                value=team.token(),
                style="primary",
            ),
        )
    footer.append(Actions(buttons=tuple(buttons)))
    policy = (
        f" Microsoft consent policy: Option {consent_option}."
        if consent_option
        else " No Microsoft consent policy recorded yet: `/calendar admin setup`."
    )
    footer.append(Context(text=f"Updated {updated}.{policy}"))
    return _paginate(f"{status.label}: {summary}", head, body, footer)


def _paginate(
    text: str, head: list[Block], body: list[Block], footer: list[Block]
) -> list[Message]:
    pages: list[list[Block]] = [list(head)]
    size = sum(_chars(b) for b in head)
    for block in body:
        if len(pages[-1]) >= MAX_BLOCKS or size + _chars(block) > MAX_PAGE_CHARS:
            pages.append([Context(text=f"Report continued (page {len(pages) + 1}).")])
            size = 0
        pages[-1].append(block)
        size += _chars(block)
    if len(pages[-1]) + len(footer) > MAX_BLOCKS + 4:
        pages.append([])
    pages[-1].extend(footer)
    return [
        Message(text=text if i == 0 else f"{text} (page {i + 1})", blocks=tuple(blocks))
        for i, blocks in enumerate(pages)
    ]


def _chars(block: Block) -> int:
    return len(getattr(block, "text", "") or "")


def working_on_it(label: str) -> Message:
    text = f"Checking calendar connections for {label}…"
    return Message(text=text, blocks=(Section(text=f"⏳ {text}"),))


def nudge_progress(sent: int, skipped: int, total: int, failed: int = 0) -> Message:
    done = sent + skipped + failed
    text = f"Nudged {sent} of {total}"
    extra = []
    if skipped:
        extra.append(f"{skipped} already connected, skipped")
    if failed:
        extra.append(f"{failed} could not be reached")
    if extra:
        text += f" ({'; '.join(extra)})"
    icon = "✅" if done >= total else "📨"
    return Message(text=text, blocks=(Section(text=f"{icon} {text}"),))


# --- the weekly digest -----------------------------------------------------------------


def digest_settings(teams: list[str], threshold: int, *, next_at: str, lead: str = "") -> Message:
    """What an admin's weekly digest follows, with the way to stop it."""
    followed = ", ".join(f"**{label}**" for label in teams)
    text = (
        f"{lead + ' ' if lead else ''}Every Monday at 09:00 your time I'll DM you the teams "
        f"you follow that are below {threshold}% connected: {followed}. Next digest: {next_at}."
    )
    return Message(
        text=text,
        blocks=(
            Section(text=text),
            Actions(buttons=(Button(label="Stop the weekly digest", action_id="digest.off"),)),
            Context(
                text="Follow another team with `/calendar digest on #channel`, change the "
                "threshold with `/calendar digest on below 90%`."
            ),
        ),
    )


def weekly_digest(lines: Sequence[TeamLine], threshold: int, *, week_of: str) -> Message:
    """Teams below `threshold`, each with a button to its full report; the rest in a line."""
    below = [line for line in lines if line.needs_attention(threshold)]
    fine = [line for line in lines if not line.needs_attention(threshold)]
    count = f"{len(below)} of your {len(lines)} teams" if len(lines) > 1 else "Your team"
    verb = "is" if len(below) == 1 else "are"
    blocks: list[Block] = [
        Header(text="Weekly calendar digest"),
        Section(text=f"**{count}** {verb} below {threshold}% connected:"),
    ]
    for line in below[:MAX_DIGEST_TEAMS]:
        if line.problem:
            detail = f"{line.problem}; open the report to see why"
        else:
            missing = line.counted - line.connected
            detail = (
                f"{line.connected} of {line.counted} connected ({line.percent}%), "
                f"{missing} not connected"
            )
        blocks.append(Section(text=f"**{line.label}**: {detail}"))
        blocks.append(
            Actions(
                buttons=(
                    Button(
                        label=f"Open the {line.label} report"[:70],
                        action_id="status.refresh",
                        value=line.team,
                    ),
                )
            )
        )
    footer = f"Checked {week_of}."
    if fine:
        above = ", ".join(f"{line.label} ({line.percent}%)" for line in fine)
        footer = f"At or above {threshold}%: {above}. " + footer
    blocks.append(Context(text=footer + " Change or stop this digest with `/calendar digest`."))
    return Message(
        text=f"Weekly calendar digest: {count} {verb} below {threshold}%", blocks=tuple(blocks)
    )

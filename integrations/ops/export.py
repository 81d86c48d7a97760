"""`python app.py export`: a team's calendar connection status as CSV.

The same roster call, the same store query and the same classification as the chat
report (`bot.sync_status`), so the CSV and the report never disagree. People the report
leaves out of the count (bots, deactivated accounts, guests) are listed as `excluded`
so the rows add up to the roster.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from datetime import timedelta

from bot.identity import Member, TeamRef
from bot.ports import ChatPort, Clock, Store
from bot.records import SyncFacts, provider_label
from bot.sync_status import REASONS, MemberStatus, build_team_status, exclusion

COLUMNS = ("name", "user_id", "email", "status", "reason", "detail", "provider", "account")
TEAM_KINDS = {"channel", "usergroup", "conversation", "workspace"}
EXCLUDED = {"bots": "Bot", "deactivated": "Deactivated account", "guests": "Guest"}
# A cell starting with one of these is a formula to Excel and LibreOffice; display names
# come from chat profiles anyone can edit, so such cells are quoted as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Row:
    name: str
    user_id: str
    email: str
    status: str  # "connected", a key of REASONS, or "excluded"
    reason: str
    detail: str
    provider: str
    account: str


def parse_team(value: str) -> TeamRef:
    """`everyone`, `#channel`, `kind:id` (channel, usergroup, conversation) or a bare id."""
    text = value.strip()
    if text.lower() in {"everyone", "workspace", "all"}:
        return TeamRef("workspace", "", "everyone")
    if text.startswith("#"):
        return TeamRef("channel", text[1:], text)
    kind, sep, ident = text.partition(":")
    if sep and kind in TEAM_KINDS:
        return TeamRef(kind, ident, text)
    if text.startswith("19:"):  # a Teams team or chat id
        return TeamRef("conversation", text, text)
    if text[:1] == "S" and text[1:].isalnum() and text.isupper():  # a Slack user group id
        return TeamRef("usergroup", text, text)
    return TeamRef("channel", text, text)


async def team_rows(
    *,
    chat: ChatPort,
    store: Store,
    clock: Clock,
    platform: str,
    workspace_id: str,
    team: TeamRef,
    stalled_after: timedelta,
) -> list[Row]:
    members = await chat.members(workspace_id, team)
    facts = await store.sync_facts(platform, workspace_id, [m.user.user_id for m in members])
    status = build_team_status(team.label or str(team), members, facts, clock.now(), stalled_after)
    rows = [_row(entry, facts.get(entry.member.user.user_id)) for entry in status.connected]
    rows += [_row(entry, facts.get(entry.member.user.user_id)) for entry in status.missing]
    rows += [_excluded_row(m, kind) for m in members if (kind := exclusion(m))]
    return sorted(rows, key=lambda r: (r.name.lower(), r.user_id))


def _row(entry: MemberStatus, facts: SyncFacts | None) -> Row:
    member = entry.member
    connected = entry.reason == "connected"
    has_account = facts is not None and facts.connection_state is not None
    return Row(
        name=member.profile.display_name,
        user_id=member.user.user_id,
        email=member.profile.email or "",
        status=entry.reason,
        reason="Connected" if connected else REASONS.get(entry.reason, entry.reason),
        # For a connected person the report's detail is the provider, its own column here.
        detail="" if connected else entry.detail,
        provider=provider_label(facts.provider_name, facts.provider_service)
        if facts is not None and has_account
        else "",
        account=facts.profile_name if facts is not None and has_account else "",
    )


def _excluded_row(member: Member, kind: str) -> Row:
    return Row(
        name=member.profile.display_name,
        user_id=member.user.user_id,
        email=member.profile.email or "",
        status="excluded",
        reason=f"Not counted: {EXCLUDED.get(kind, kind).lower()}",
        detail="",
        provider="",
        account="",
    )


def to_csv(rows: Iterable[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(value) for value in astuple(row)])
    return buffer.getvalue()


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(_FORMULA_START) else value

"""Who on a team can be scheduled, and why the others can't. Pure: facts in, report out."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.identity import Member
from bot.records import SyncFacts, provider_label

# Order matters: it is the order of the groups in the report, most actionable first.
REASONS: dict[str, str] = {
    "consent_blocked": "Blocked by their organisation's consent policy",
    "revoked": "Access revoked or expired",
    "needs_relink": "Needs to reconnect",
    "failed": "Tried, but sign-in failed",
    "stalled": "Opened the link but didn't finish",
    "link_sent": "Link sent, not opened yet",
    "never_connected": "Never connected",
}


@dataclass(frozen=True)
class MemberStatus:
    member: Member
    reason: str  # "connected" or a key of REASONS
    detail: str = ""


@dataclass(frozen=True)
class TeamStatus:
    label: str
    connected: list[MemberStatus] = field(default_factory=list)
    missing: list[MemberStatus] = field(default_factory=list)
    excluded: Counter[str] = field(default_factory=Counter)

    @property
    def counted(self) -> int:
        return len(self.connected) + len(self.missing)

    def groups(self) -> list[tuple[str, list[MemberStatus]]]:
        return [
            (reason, [m for m in self.missing if m.reason == reason])
            for reason in REASONS
            if any(m.reason == reason for m in self.missing)
        ]


def exclusion(member: Member) -> str | None:
    """People who can't connect a calendar here are counted apart, not reported missing."""
    if member.profile.is_bot:
        return "bots"
    if member.profile.deleted:
        return "deactivated"
    if member.profile.is_guest:
        return "guests"
    return None


def classify(facts: SyncFacts | None, now: datetime, stalled_after: timedelta) -> tuple[str, str]:
    """The reason a person is (not) connected, plus a short detail in plain words."""
    if facts is None:
        return "never_connected", ""
    state = facts.connection_state
    if state == "connected":
        return "connected", provider_label(facts.provider_name, facts.provider_service)
    if state == "revoked":
        return "revoked", "authorization was revoked or expired"
    if state == "needs_relink":
        return "needs_relink", "the calendar account was disconnected"
    failure = facts.last_failure or ""
    if facts.last_failed_at and not facts.last_completed_at:
        if "administrator" in failure or "consent" in failure:
            return "consent_blocked", failure
        return "failed", failure
    if facts.last_clicked_at and not facts.last_completed_at:
        if now - facts.last_clicked_at >= stalled_after:
            return "stalled", f"opened {_ago(now - facts.last_clicked_at)} ago"
        return "link_sent", "opened just now"
    if facts.links_sent:
        sent = facts.last_link_at
        times = f"{facts.links_sent} times" if facts.links_sent > 1 else "once"
        return "link_sent", f"sent {times}, last {_ago(now - sent)} ago" if sent else ""
    return "never_connected", ""


def build_team_status(
    label: str,
    members: list[Member],
    facts: dict[str, SyncFacts],
    now: datetime,
    stalled_after: timedelta,
) -> TeamStatus:
    status = TeamStatus(label=label)
    for member in members:
        excluded = exclusion(member)
        if excluded:
            status.excluded[excluded] += 1
            continue
        reason, detail = classify(facts.get(member.user.user_id), now, stalled_after)
        entry = MemberStatus(member, reason, detail)
        (status.connected if reason == "connected" else status.missing).append(entry)
    return status


def _ago(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 3600:
        return f"{max(seconds // 60, 1)} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days" if seconds >= 2 * 86400 else "1 day"

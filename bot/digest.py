"""The weekly digest: admins who turn it on get a DM every Monday morning, in their own
time zone, naming the teams they follow whose share of connected calendars is below
their threshold — and nothing in a week when every team is above it.

`/calendar digest on [#channel|@group] [below 80%]` follows a team (the channel asked in
when none is named), `/calendar digest off [team]` stops following one or all, and
`/calendar digest` shows what is followed and when the next digest is due. Each admin's
choice is a workspace setting of its own (`digest:<user id>`), so two admins never
overwrite each other's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from bot import cards, status_cards
from bot.commands import Target, parse_target
from bot.connect import Actor
from bot.delivery import dm_item
from bot.errors import ChatError
from bot.identity import ChatProfile, TeamRef, UserRef
from bot.messages import Message, simple
from bot.ports import ChatPort, Clock, Store
from bot.records import UserRecord
from bot.slots.tz import zone_or_utc
from bot.team import NOT_ADMIN, TeamService, team_label

log = logging.getLogger(__name__)

SETTING_PREFIX = "digest:"
DEFAULT_THRESHOLD = 80
MAX_TEAMS = 10  # each team is a roster fetch once a week; a digest is a summary, not a census
SEND_WEEKDAY = 0  # Monday…
SEND_HOUR = 9  # …at 09:00 in the admin's time zone

USAGE = (
    "Weekly digest: `/calendar digest on [#channel|@group] [below 80%]` to follow a team, "
    "`/calendar digest off [#channel|@group]` to stop, `/calendar digest` to see yours."
)

_THRESHOLD = re.compile(r"^(\d{1,3})%?$")


@dataclass(frozen=True)
class DigestRequest:
    action: Literal["show", "on", "off"]
    target: Target | None = None
    threshold: int | None = None


def parse_digest(text: str) -> DigestRequest | None:
    """`[on|off] [<#C…>|<!subteam^…>] [below|under N%]`; None when it is none of that."""
    words = text.split()
    action: Literal["show", "on", "off"] = "show"
    if words and words[0].lower() in {"on", "off"}:
        action = "on" if words.pop(0).lower() == "on" else "off"
    target = None
    if words and (parsed := parse_target(words[0])) is not None:
        if parsed.kind == "user":
            return None
        target = parsed
        words.pop(0)
    threshold = None
    if len(words) == 2 and words[0].lower() in {"below", "under"}:
        match = _THRESHOLD.match(words[1])
        if match is None or not 1 <= int(match.group(1)) <= 100:
            return None
        threshold = int(match.group(1))
        words = []
    if words or (action == "show" and (target or threshold)):
        return None
    if action == "off" and threshold is not None:
        return None
    return DigestRequest(action, target, threshold)


@dataclass(frozen=True)
class TeamLine:
    """One followed team, measured for a digest."""

    team: str
    label: str
    connected: int
    counted: int
    problem: str = ""

    @property
    def percent(self) -> int:
        return round(100 * self.connected / self.counted) if self.counted else 100

    def needs_attention(self, threshold: int) -> bool:
        """Below the threshold, or not measurable this week (its roster couldn't be read)."""
        return bool(self.problem) or self.percent < threshold


def digest_week(now: datetime, tz: str | None) -> str:
    """The ISO week whose Monday-09:00 (in `tz`) is the latest one at `now`, e.g. '2026-W48'.

    A digest is due once per such week; before Monday 09:00 it is still last week's.
    """
    local = now.astimezone(zone_or_utc(tz)) - timedelta(days=SEND_WEEKDAY, hours=SEND_HOUR)
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def next_send(now: datetime, tz: str | None) -> datetime:
    """The next Monday 09:00 in `tz` after `now`."""
    zone = zone_or_utc(tz)
    local = now.astimezone(zone)
    days = (SEND_WEEKDAY - local.weekday()) % 7
    candidate = (local + timedelta(days=days)).replace(
        hour=SEND_HOUR, minute=0, second=0, microsecond=0
    )
    if candidate <= local:
        candidate += timedelta(days=7)
    return candidate


class DigestService:
    def __init__(
        self,
        *,
        store: Store,
        chats: Mapping[str, ChatPort],
        clock: Clock,
        team: TeamService,
        wake_outbox: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._chats = chats
        self._clock = clock
        self._team = team
        self._wake = wake_outbox or (lambda: None)

    # --- asking ----------------------------------------------------------------------

    async def command(self, actor: Actor, text: str) -> Message:
        if not self._team.is_admin(actor):
            return simple(NOT_ADMIN)
        request = parse_digest(text)
        if request is None:
            return simple(USAGE)
        me = await self._store.upsert_user(actor.user, actor.profile, actor.address)
        key = SETTING_PREFIX + actor.user.user_id
        settings = await self._store.workspace_settings(
            actor.user.platform, actor.user.workspace_id
        )
        current: dict[str, Any] = dict(settings.get(key) or {})
        if request.action == "show":
            return self._describe(me, current)
        if request.action == "off":
            return await self._off(actor, key, current, request.target)
        team = self._team.resolve_team(request.target, actor.channel)
        teams = [t for t in current.get("teams", []) if t.get("team") != str(team)]
        if len(teams) >= MAX_TEAMS:
            return simple(f"A digest follows at most {MAX_TEAMS} teams: stop one first.")
        teams.append({"team": str(team), "label": team_label(team)})
        now = self._clock.now()
        updated = {
            "teams": teams,
            "threshold": request.threshold or current.get("threshold") or DEFAULT_THRESHOLD,
            # Turned on mid-week: the first digest comes next Monday, not within the hour.
            "sent_week": current.get("sent_week") or digest_week(now, me.tz),
        }
        await self._store.update_workspace_settings(
            actor.user.platform, actor.user.workspace_id, {key: updated}
        )
        return self._describe(me, updated, lead="Weekly digest on.")

    async def _off(
        self, actor: Actor, key: str, current: dict[str, Any], target: Target | None
    ) -> Message:
        platform, workspace = actor.user.platform, actor.user.workspace_id
        if not current.get("teams"):
            return simple("You don't get the weekly digest, so there is nothing to stop.")
        if target is None:
            await self._store.update_workspace_settings(platform, workspace, {key: None})
            return simple("Weekly digest off: I won't send it any more.")
        team = self._team.resolve_team(target, actor.channel)
        teams = [t for t in current["teams"] if t.get("team") != str(team)]
        if len(teams) == len(current["teams"]):
            return simple(f"Your digest doesn't follow {team_label(team)}.")
        updated = {**current, "teams": teams} if teams else None
        await self._store.update_workspace_settings(platform, workspace, {key: updated})
        if updated is None:
            return simple(f"Stopped following {team_label(team)}: weekly digest off.")
        return simple(f"Stopped following {team_label(team)} in your weekly digest.")

    def _describe(self, me: UserRecord, current: dict[str, Any], *, lead: str = "") -> Message:
        teams = [str(t.get("label") or t.get("team")) for t in current.get("teams") or []]
        if not teams:
            return simple("You don't get the weekly digest. " + USAGE)
        when = cards.fmt_when(next_send(self._clock.now(), me.tz), me.tz)
        return status_cards.digest_settings(
            teams, int(current.get("threshold") or DEFAULT_THRESHOLD), next_at=when, lead=lead
        )

    # --- the weekly job --------------------------------------------------------------

    async def run_due(self) -> int:
        """Queue every digest that is due; returns how many were queued.

        Idempotent: a digest's outbox key names the admin and the week, and the week is
        recorded once handled, so reruns and a second instance send nothing twice.
        """
        queued = 0
        now = self._clock.now()
        for platform, workspace, settings in await self._store.all_workspace_settings():
            for key, subscription in settings.items():
                if not key.startswith(SETTING_PREFIX) or not subscription:
                    continue
                if platform not in self._chats:
                    continue
                ref = UserRef(platform, workspace, key[len(SETTING_PREFIX) :])
                try:
                    queued += await self._one(ref, key, dict(subscription), now)
                except Exception:
                    log.exception("weekly digest for %s failed; retrying next run", ref)
        if queued:
            self._wake()
        return queued

    async def _one(
        self, ref: UserRef, key: str, subscription: dict[str, Any], now: datetime
    ) -> int:
        admin = await self._store.find_user(ref)
        if admin is None:
            return 0
        week = digest_week(now, admin.tz)
        if subscription.get("sent_week") == week:
            return 0
        if not self._still_admin(admin):
            log.info("weekly digest for %s dropped: no longer an admin", ref)
            await self._store.update_workspace_settings(ref.platform, ref.workspace_id, {key: None})
            return 0
        threshold = int(subscription.get("threshold") or DEFAULT_THRESHOLD)
        lines = [await self._measure(admin, t) for t in subscription.get("teams") or []]
        queued = 0
        if any(line.needs_attention(threshold) for line in lines):
            message = status_cards.weekly_digest(
                lines, threshold, week_of=cards.fmt_when(now, admin.tz)
            )
            outbox_key = f"digest:{admin.id}:{week}"
            if not await self._store.existing_keys([outbox_key]):
                await self._store.enqueue([dm_item(admin, outbox_key, message.to_json())])
                queued = 1
        # Only the week: the teams may have changed (or the digest been turned off)
        # while the rosters were read.
        await self._store.merge_workspace_setting(
            ref.platform, ref.workspace_id, key, {"sent_week": week}
        )
        return queued

    def _still_admin(self, admin: UserRecord) -> bool:
        profile = ChatProfile(admin.display_name, admin.email, admin.tz, is_admin=admin.is_admin)
        return self._team.is_admin(Actor(user=admin.ref, profile=profile))

    async def _measure(self, admin: UserRecord, followed: dict[str, Any]) -> TeamLine:
        stored = TeamRef.parse(str(followed.get("team") or ""))
        label = str(followed.get("label") or team_label(stored))
        team = TeamRef(stored.kind, stored.id, label.lstrip("#@"))
        try:
            status = await self._team.status_of(admin, team)
        except ChatError as exc:
            log.warning("digest: roster of %s unavailable: %s", team, type(exc).__name__)
            return TeamLine(team.token(), label, 0, 0, problem="couldn't list its members")
        return TeamLine(team.token(), label, len(status.connected), status.counted)

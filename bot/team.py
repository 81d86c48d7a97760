"""Team status ("who isn't synced?"), personal status of others, and nudges."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta

from bot import cards, status_cards
from bot.commands import Target
from bot.connect import Actor, ConnectFlow
from bot.errors import ChatError
from bot.identity import Member, TeamRef, UserRef
from bot.messages import Message, simple
from bot.ports import ChatPort, Clock, Store
from bot.records import OutboxItem, UserRecord
from bot.sync_status import REASONS, TeamStatus, build_team_status, classify, exclusion

log = logging.getLogger(__name__)

NOT_ADMIN = (
    "Only workspace admins can see other people's calendar status or nudge them. "
    "You can always check your own with `/calendar status`."
)


class TeamService:
    def __init__(
        self,
        *,
        store: Store,
        chats: Mapping[str, ChatPort],
        clock: Clock,
        connect: ConnectFlow,
        admins: frozenset[str] = frozenset(),
        stalled_after: timedelta = timedelta(minutes=10),
        wake_outbox: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._chats = chats
        self._clock = clock
        self._connect = connect
        self._admins = admins
        self._stalled = stalled_after
        self._wake = wake_outbox or (lambda: None)

    # --- authorization ---------------------------------------------------------------

    def is_admin(self, actor: Actor) -> bool:
        """Checked on the server for every request and button, never by hiding buttons."""
        if actor.profile is not None and actor.profile.is_admin:
            return True
        ids = {actor.user.user_id.lower()}
        if actor.profile is not None and actor.profile.email:
            ids.add(actor.profile.email.lower())
        return bool(ids & self._admins)

    # --- reports ---------------------------------------------------------------------

    def resolve_team(self, target: Target | None, where: TeamRef | None) -> TeamRef:
        if target is not None and target.kind in {"channel", "usergroup"}:
            return TeamRef(target.kind, target.id, target.label)
        if where is not None:
            return where
        return TeamRef("workspace", "", "everyone")

    async def report(self, actor: Actor, team: TeamRef) -> Message:
        """Queue the report for the asking admin; edits in place once it is computed."""
        if not self.is_admin(actor):
            return simple(NOT_ADMIN)
        requester = await self._store.upsert_user(actor.user, actor.profile, actor.address)
        key = f"report:{secrets.token_hex(8)}"
        label = team_label(team)
        await self._send(requester, status_cards.working_on_it(label), key=key)
        try:
            pages = await self._build_pages(actor.user.workspace_id, requester, team)
        except ChatError as exc:
            log.warning("roster fetch failed for %s: %s", team, type(exc).__name__)
            pages = [simple(f"I couldn't list the members of {label}: {_roster_problem(exc)}")]
        await self._edit(requester, key, pages[0], suffix="done")
        for number, page in enumerate(pages[1:], start=2):
            await self._send(requester, page, key=f"{key}:p{number}")
        await self._store.save_report(requester, team.token(), label, key)
        return simple(f"I've sent you the calendar report for {label} in a DM.")

    async def on_connected(self, user_id: int) -> None:
        """Someone connected: recent reports of their workspace show it (first page edited,
        at most once a minute per report, so a wave of connects costs few roster fetches)."""
        now = self._clock.now()
        claimed = await self._store.claim_reports_to_refresh(
            user_id, since=now - timedelta(days=7), refreshed_before=now - timedelta(minutes=1)
        )
        for requester, team, key in claimed:
            try:
                pages = await self._build_pages(
                    requester.ref.workspace_id, requester, TeamRef.parse(team)
                )
            except ChatError:
                continue
            digest = hashlib.sha256(pages[0].to_json().encode()).hexdigest()[:16]
            await self._edit(requester, key, pages[0], suffix=f"r{digest}")

    async def status_of(self, reader: UserRecord, team: TeamRef) -> TeamStatus:
        """Who on `team` (in `reader`'s workspace) is connected, and why the rest are not:
        one roster fetch and one batched query. Raises ChatError if the roster can't be read."""
        platform, workspace_id = reader.ref.platform, reader.ref.workspace_id
        members = await self._chats[platform].members(
            workspace_id, team, on_behalf_of=reader.recipient
        )
        facts = await self._store.sync_facts(
            platform, workspace_id, [m.user.user_id for m in members]
        )
        return build_team_status(team_label(team), members, facts, self._clock.now(), self._stalled)

    async def _build_pages(
        self, workspace_id: str, reader: UserRecord, team: TeamRef
    ) -> list[Message]:
        status = await self.status_of(reader, team)
        now = self._clock.now()
        settings = await self._store.workspace_settings(reader.ref.platform, workspace_id)
        return status_cards.team_report_pages(
            status,
            team,
            updated=cards.fmt_when(now, reader.tz),
            consent_option=settings.get("consent_option"),
        )

    async def refresh(self, actor: Actor, value: str) -> Message:
        return await self.report(actor, TeamRef.parse(value))

    async def person(self, actor: Actor, target: Target) -> Message:
        """`is @alice connected?` — admins for anyone, everyone for themselves."""
        if target.id != actor.user.user_id and not self.is_admin(actor):
            return simple(NOT_ADMIN)
        ref = UserRef(actor.user.platform, actor.user.workspace_id, target.id)
        facts = await self._store.sync_facts(ref.platform, ref.workspace_id, [ref.user_id])
        reason, detail = classify(facts.get(ref.user_id), self._clock.now(), self._stalled)
        who = f"<@{target.id}|{target.label or target.id}>"
        if reason == "connected":
            return simple(f"{who} is connected ({detail}).")
        words = REASONS[reason].lower() + (f" ({detail})" if detail else "")
        return simple(f"{who} is not connected: {words}.")

    # --- nudges ----------------------------------------------------------------------

    async def nudge_one(self, actor: Actor, user_id: str) -> Message:
        if not self.is_admin(actor):
            return simple(NOT_ADMIN)
        ref = UserRef(actor.user.platform, actor.user.workspace_id, user_id)
        try:
            profile = await self._chats[ref.platform].profile(ref)
        except ChatError:
            return simple("I couldn't find that person any more, so nobody was nudged.")
        return await self._nudge(actor, [Member(user=ref, profile=profile)], "1 person")

    async def nudge_all(self, actor: Actor, value: str) -> Message:
        if not self.is_admin(actor):
            return simple(NOT_ADMIN)
        team = TeamRef.parse(value)
        try:
            members = await self._chats[actor.user.platform].members(actor.user.workspace_id, team)
        except ChatError as exc:
            return simple(
                f"I couldn't list the members of {team_label(team)}: {_roster_problem(exc)}"
            )
        return await self._nudge(actor, members, team_label(team))

    async def _nudge(self, actor: Actor, members: list[Member], label: str) -> Message:
        platform, workspace = actor.user.platform, actor.user.workspace_id
        candidates = [m for m in members if exclusion(m) is None]
        facts = await self._store.sync_facts(
            platform, workspace, [m.user.user_id for m in candidates]
        )
        targets = [
            m
            for m in candidates
            if (facts.get(m.user.user_id) is None)
            or facts[m.user.user_id].connection_state != "connected"
        ]
        if not targets:
            return simple(f"Everyone in {label} is already connected: nobody to nudge.")
        requester = await self._store.upsert_user(actor.user, actor.profile, actor.address)
        users = await self._store.upsert_members(
            platform, workspace, [(m.user.user_id, m.profile, m.address) for m in targets]
        )
        day = self._clock.now().date().isoformat()
        keys = {uid: f"nudge:{user.id}:{day}" for uid, user in users.items()}
        already = await self._store.existing_keys(list(keys.values()))
        batch = f"nudge-{secrets.token_hex(6)}"
        asked_by = requester.display_name or f"<@{requester.ref.user_id}>"
        queued = 0
        for uid, user in users.items():
            if keys[uid] in already:
                continue
            try:
                await self._connect.send_link(
                    user,
                    asked_by=asked_by,
                    key=keys[uid],
                    guard=f"unless_connected:{user.id}",
                    batch=batch,
                )
                queued += 1
            except Exception:  # a concurrent nudge took the same key: already nudged today
                log.info("nudge for user %s already queued today", user.id)
        if not queued:
            return simple(f"Everyone in {label} who isn't connected was already nudged today.")
        progress = status_cards.nudge_progress(0, 0, queued)
        await self._send(requester, progress, key=f"progress:{batch}")
        self._wake()
        skipped = len(users) - queued
        extra = f" ({skipped} already nudged today)" if skipped else ""
        return simple(f"Nudging {queued} {'person' if queued == 1 else 'people'}{extra}.")

    async def on_batch_progress(self, batch: str, platform: str) -> None:
        """Called by the outbox worker as a nudge batch is delivered: edit the progress DM."""
        counts = await self._store.batch_counts(batch)
        sent, skipped = counts.get("sent", 0), counts.get("skipped", 0)
        failed = counts.get("dead", 0)
        total = sum(counts.values())
        message = status_cards.nudge_progress(sent, skipped, total, failed)
        await self._store.enqueue(
            [
                OutboxItem(
                    key=f"progress:{batch}:{sent}:{skipped}:{failed}",
                    platform=platform,
                    payload_json=message.to_json(),
                    edit_of=f"progress:{batch}",
                )
            ]
        )

    # --- helpers ---------------------------------------------------------------------

    async def _send(self, user: UserRecord, message: Message, *, key: str) -> None:
        await self._store.enqueue(
            [
                OutboxItem(
                    key=key,
                    platform=user.ref.platform,
                    payload_json=message.to_json(),
                    recipient=user.recipient,
                )
            ]
        )
        self._wake()

    async def _edit(self, user: UserRecord, key: str, message: Message, *, suffix: str) -> None:
        await self._store.enqueue(
            [
                OutboxItem(
                    key=f"{key}:{suffix}",
                    platform=user.ref.platform,
                    payload_json=message.to_json(),
                    recipient=user.recipient,
                    edit_of=key,
                )
            ]
        )
        self._wake()


def team_label(team: TeamRef) -> str:
    """How a team is named in messages: `#channel`, `@group` or `everyone`."""
    if team.kind == "workspace":
        return "everyone"
    sigil = {"channel": "#", "usergroup": "@"}.get(team.kind, "")
    return f"{sigil}{team.label or team.id}"


def _roster_problem(exc: ChatError) -> str:
    from bot.errors import ChatNotFound, ChatNotInstalled, ChatScopeUnsupported

    if isinstance(exc, ChatScopeUnsupported):
        return str(exc)
    if isinstance(exc, ChatNotInstalled):
        return "I'm not a member there. Invite me to it and ask again."
    if isinstance(exc, ChatNotFound):
        return "I couldn't find it. Check the name and ask again."
    return "the chat service didn't answer. Please try again in a minute."

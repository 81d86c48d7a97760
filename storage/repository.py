"""The SQL implementation of the core's `Store` port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.errors import StoreUnavailable
from bot.identity import ChatProfile, Recipient, UserRef
from bot.ports import Clock, NewConnection, TokenSet
from bot.records import (
    ClaimedMessage,
    ConnectionCheck,
    ConnectionRecord,
    IncidentRecord,
    LinkRecord,
    NewReport,
    OutboxItem,
    OutboxState,
    ReportRecord,
    SyncFacts,
    UserRecord,
)
from storage import models as m
from storage.crypto import TokenCipher
from storage.db import database_unreachable
from storage.proposals import ProposalStoreMixin


def _utcnow() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def _in_workspace(platform: str, workspace_id: str) -> tuple[ColumnElement[bool], ...]:
    """WHERE conditions for rows of one chat workspace (a query joined to Workspace)."""
    return (m.Workspace.platform == platform, m.Workspace.external_id == workspace_id)


def _user_record(row: m.ChatUser) -> UserRecord:
    return UserRecord(
        id=row.id,
        ref=UserRef(row.workspace.platform, row.workspace.external_id, row.platform_user_id),
        display_name=row.display_name,
        email=row.email,
        tz=row.tz,
        is_admin=row.is_admin,
        address=row.address,
    )


def _connection_record(row: m.CalendarConnection) -> ConnectionRecord:
    return ConnectionRecord(
        id=row.id,
        user_id=row.user_id,
        cronofy_sub=row.cronofy_sub,
        provider_name=row.provider_name,
        provider_service=row.provider_service,
        profile_name=row.profile_name,
        state=row.state,
        expires_at=row.expires_at,
        connected_at=row.connected_at,
        relink_url=row.relink_url,
    )


def _link_record(row: m.ConnectLink) -> LinkRecord:
    return LinkRecord(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        clicked_at=row.clicked_at,
        completed_at=row.completed_at,
        failed_at=row.failed_at,
        state_nonce=row.state_nonce,
        message_key=row.message_key,
    )


def _recipient_json(recipient: Recipient | None) -> dict[str, Any] | None:
    if recipient is None:
        return None
    u = recipient.user
    return {
        "platform": u.platform,
        "workspace_id": u.workspace_id,
        "user_id": u.user_id,
        "address": recipient.address,
        "channel": recipient.channel,
    }


def _recipient(raw: dict[str, Any] | None) -> Recipient | None:
    if raw is None:
        return None
    return Recipient(
        user=UserRef(raw["platform"], raw["workspace_id"], raw["user_id"]),
        address=raw.get("address"),
        channel=raw.get("channel"),
    )


class SqlStore(ProposalStoreMixin):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        cipher: TokenCipher,
        clock: Clock | None = None,
    ) -> None:
        self._sessions = sessions
        self._cipher = cipher
        # The same clock as the core, so "due now" means the same thing on both sides.
        self._clock = clock

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else _utcnow()

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncSession]:
        try:
            async with self._sessions() as session, session.begin():
                yield session
        except Exception as exc:
            # The core and the adapters get one neutral error for "database away" (a
            # clear answer, a 503 page, a retry next tick) instead of a driver exception.
            if database_unreachable(exc):
                raise StoreUnavailable(type(exc).__name__) from exc
            raise

    # --- users ---------------------------------------------------------------------

    async def _workspace(
        self, s: AsyncSession, platform: str, external_id: str, *, lock: bool = False
    ) -> m.Workspace:
        query = select(m.Workspace).filter_by(platform=platform, external_id=external_id)
        ws = await s.scalar(query.with_for_update() if lock else query)
        if ws is None:
            ws = m.Workspace(
                platform=platform,
                external_id=external_id,
                name="",
                settings={},
                created_at=self._now(),
            )
            s.add(ws)
            await s.flush()
        return ws

    async def upsert_user(
        self,
        user: UserRef,
        profile: ChatProfile | None = None,
        address: dict[str, object] | None = None,
    ) -> UserRecord:
        for attempt in range(2):
            try:
                return await self._upsert_user(user, profile, address)
            except IntegrityError:
                # Two requests created the same user at once; the second read wins.
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _upsert_user(
        self, user: UserRef, profile: ChatProfile | None, address: dict[str, object] | None
    ) -> UserRecord:
        async with self._tx() as s:
            ws = await self._workspace(s, user.platform, user.workspace_id)
            row = await s.scalar(
                select(m.ChatUser).filter_by(workspace_id=ws.id, platform_user_id=user.user_id)
            )
            now = self._now()
            if row is None:
                row = m.ChatUser(
                    workspace_id=ws.id,
                    platform_user_id=user.user_id,
                    display_name="",
                    is_admin=False,
                    created_at=now,
                    updated_at=now,
                )
                s.add(row)
            if profile is not None:
                row.display_name = profile.display_name or row.display_name
                row.email = profile.email or row.email
                row.tz = profile.tz or row.tz
                row.is_admin = profile.is_admin
            if address is not None:
                row.address = dict(address)
            _touch(s, row, now)
            await s.flush()
            row.workspace = ws
            return _user_record(row)

    async def get_user(self, user_id: int) -> UserRecord | None:
        async with self._tx() as s:
            row = await s.get(m.ChatUser, user_id)
            return _user_record(row) if row else None

    async def find_user(self, user: UserRef) -> UserRecord | None:
        async with self._tx() as s:
            row = await s.scalar(
                select(m.ChatUser)
                .join(m.Workspace)
                .where(
                    *_in_workspace(user.platform, user.workspace_id),
                    m.ChatUser.platform_user_id == user.user_id,
                )
            )
            return _user_record(row) if row else None

    # --- connections -----------------------------------------------------------------

    async def get_connection(self, user_id: int) -> ConnectionRecord | None:
        async with self._tx() as s:
            row = await s.scalar(select(m.CalendarConnection).filter_by(user_id=user_id))
            return _connection_record(row) if row else None

    async def connection_tokens(self, user_id: int) -> TokenSet | None:
        async with self._tx() as s:
            row = await s.scalar(select(m.CalendarConnection).filter_by(user_id=user_id))
            if row is None:
                return None
            return TokenSet(
                access_token=self._cipher.decrypt(row.access_token_enc),
                refresh_token=self._cipher.decrypt(row.refresh_token_enc),
                expires_at=row.expires_at,
                sub=row.cronofy_sub,
            )

    async def delete_connection(self, user_id: int, outbox: list[OutboxItem]) -> bool:
        async with self._tx() as s:
            result = await s.execute(delete(m.CalendarConnection).filter_by(user_id=user_id))
            self._add_outbox(s, outbox)
            return bool(getattr(result, "rowcount", 0))

    # --- connect links ---------------------------------------------------------------

    async def create_link(
        self, user_id: int, token_hash: str, expires_at: datetime, outbox: list[OutboxItem]
    ) -> LinkRecord:
        async with self._tx() as s:
            row = m.ConnectLink(
                token_hash=token_hash,
                user_id=user_id,
                created_at=self._now(),
                expires_at=expires_at,
                click_count=0,
                purpose="connect",
            )
            s.add(row)
            await s.flush()
            items = [_with_key(item, row.id) for item in outbox]
            # The link's DM is the first message; completing the link edits it in place.
            row.message_key = items[0].key if items else None
            self._add_outbox(s, items)
            return _link_record(row)

    async def find_link(self, token_hash: str) -> LinkRecord | None:
        async with self._tx() as s:
            row = await s.scalar(select(m.ConnectLink).filter_by(token_hash=token_hash))
            return _link_record(row) if row else None

    async def get_link(self, link_id: int) -> LinkRecord | None:
        async with self._tx() as s:
            row = await s.get(m.ConnectLink, link_id)
            return _link_record(row) if row else None

    async def click_link(self, link_id: int, nonce: str, now: datetime) -> None:
        async with self._tx() as s:
            await s.execute(
                update(m.ConnectLink)
                .where(m.ConnectLink.id == link_id)
                .values(
                    clicked_at=now,
                    state_nonce=nonce,
                    click_count=m.ConnectLink.click_count + 1,
                )
            )

    async def complete_link(
        self,
        link_id: int,
        nonce: str,
        connection: NewConnection,
        now: datetime,
        outbox: list[OutboxItem],
    ) -> bool:
        """Store the connection and close the link in one transaction, or do nothing."""
        async with self._tx() as s:
            claimed = await s.execute(
                update(m.ConnectLink)
                .where(
                    m.ConnectLink.id == link_id,
                    m.ConnectLink.state_nonce == nonce,
                    m.ConnectLink.completed_at.is_(None),
                )
                .values(completed_at=now, failed_at=None, failure=None)
            )
            if not getattr(claimed, "rowcount", 0):
                return False
            link = await s.get(m.ConnectLink, link_id)
            assert link is not None
            row = await s.scalar(select(m.CalendarConnection).filter_by(user_id=link.user_id))
            if row is None:
                row = m.CalendarConnection(user_id=link.user_id, connected_at=now)
                s.add(row)
            tokens = connection.tokens
            row.cronofy_sub = connection.cronofy_sub
            row.provider_name = connection.provider_name
            row.provider_service = connection.provider_service
            row.profile_id = connection.profile_id
            row.profile_name = connection.profile_name
            row.access_token_enc = self._cipher.encrypt(tokens.access_token)
            row.refresh_token_enc = self._cipher.encrypt(tokens.refresh_token)
            row.expires_at = tokens.expires_at
            row.state = "connected"
            row.relink_url = None
            row.last_error = None
            row.connected_at = now
            row.updated_at = now
            self._add_outbox(s, outbox)
            return True

    async def fail_link(
        self, link_id: int, nonce: str, reason: str, now: datetime, outbox: list[OutboxItem]
    ) -> bool:
        async with self._tx() as s:
            result = await s.execute(
                update(m.ConnectLink)
                .where(
                    m.ConnectLink.id == link_id,
                    m.ConnectLink.state_nonce == nonce,
                    m.ConnectLink.completed_at.is_(None),
                )
                .values(failed_at=now, failure=reason[:2000], state_nonce=None)
            )
            if not getattr(result, "rowcount", 0):
                return False
            self._add_outbox(s, outbox)
            return True

    # --- outbox ----------------------------------------------------------------------

    def _add_outbox(self, s: AsyncSession, items: list[OutboxItem]) -> None:
        now = self._now()
        for item in items:
            s.add(
                m.OutboxMessage(
                    key=item.key,
                    platform=item.platform,
                    kind="update" if item.edit_of else "send",
                    recipient=_recipient_json(item.recipient),
                    edit_of=item.edit_of,
                    guard=item.guard,
                    batch=item.batch,
                    # Encrypted: a connect DM carries a personal link until it is sent.
                    payload=self._cipher.encrypt(item.payload_json),
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )

    async def enqueue(self, items: list[OutboxItem]) -> None:
        """Add messages; a key that is already queued is skipped (idempotency)."""
        for item in items:
            try:
                async with self._tx() as s:
                    self._add_outbox(s, [item])
            except IntegrityError:
                continue

    async def claim_due(
        self, now: datetime, limit: int, lease_seconds: float
    ) -> list[ClaimedMessage]:
        lease = now + timedelta(seconds=lease_seconds)
        claimed: list[ClaimedMessage] = []
        async with self._tx() as s:
            rows = (
                await s.scalars(
                    select(m.OutboxMessage)
                    .where(
                        m.OutboxMessage.status == "pending",
                        m.OutboxMessage.next_attempt_at <= now,
                        or_(
                            m.OutboxMessage.claimed_until.is_(None),
                            m.OutboxMessage.claimed_until < now,
                        ),
                    )
                    .order_by(m.OutboxMessage.next_attempt_at, m.OutboxMessage.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                # The conditional update makes the claim safe on SQLite too, where SKIP
                # LOCKED does not exist. It repeats every condition of the SELECT: on
                # SQLite the SELECT holds no snapshot, so another worker may have claimed,
                # sent and released this row in between (claimed_until is NULL again).
                result = await s.execute(
                    update(m.OutboxMessage)
                    .where(
                        m.OutboxMessage.id == row.id,
                        m.OutboxMessage.status == "pending",
                        m.OutboxMessage.next_attempt_at <= now,
                        or_(
                            m.OutboxMessage.claimed_until.is_(None),
                            m.OutboxMessage.claimed_until < now,
                        ),
                    )
                    .values(claimed_until=lease, attempts=m.OutboxMessage.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
                if getattr(result, "rowcount", 0):
                    claimed.append(
                        ClaimedMessage(
                            id=row.id,
                            key=row.key,
                            platform=row.platform,
                            kind=row.kind,
                            payload_json=self._cipher.decrypt(row.payload),
                            recipient=_recipient(row.recipient),
                            edit_of=row.edit_of,
                            attempts=row.attempts + 1,
                            guard=row.guard,
                            batch=row.batch,
                            # Every outcome (sent, retry, dead, skipped) clears the claim,
                            # so an expired claim means its holder died mid-send.
                            in_doubt=row.claimed_until is not None,
                            claimed_until=lease,
                        )
                    )
        return claimed

    async def renew_claim(self, message_id: int, held_until: datetime, until: datetime) -> bool:
        """Extend this worker's claim; False if it lapsed and another worker claimed the
        message (or it is no longer pending)."""
        async with self._tx() as s:
            result = await s.execute(
                update(m.OutboxMessage)
                .where(
                    m.OutboxMessage.id == message_id,
                    m.OutboxMessage.status == "pending",
                    m.OutboxMessage.claimed_until == held_until,
                )
                .values(claimed_until=until)
            )
            return bool(getattr(result, "rowcount", 0))

    async def outbox_state(self, key: str) -> OutboxState | None:
        """Where the message queued under `key` is, read at once; None if nothing was."""
        async with self._tx() as s:
            row = (
                await s.execute(
                    select(
                        m.OutboxMessage.status,
                        m.OutboxMessage.next_attempt_at,
                        m.OutboxMessage.sent_ref,
                    ).filter_by(key=key)
                )
            ).first()
            if row is None:
                return None
            sent = dict(row.sent_ref or {}) if row.status == "sent" else None
            return OutboxState(row.status, row.next_attempt_at, sent)

    async def mark_sent(self, message_id: int, ref: dict[str, object], now: datetime) -> None:
        async with self._tx() as s:
            await s.execute(
                update(m.OutboxMessage)
                .where(m.OutboxMessage.id == message_id)
                .values(
                    status="sent", sent_ref=ref, sent_at=now, claimed_until=None, last_error=None
                )
            )

    async def mark_retry(self, message_id: int, error: str, next_attempt_at: datetime) -> None:
        async with self._tx() as s:
            await s.execute(
                update(m.OutboxMessage)
                .where(m.OutboxMessage.id == message_id)
                .values(
                    next_attempt_at=next_attempt_at, claimed_until=None, last_error=error[:2000]
                )
            )

    async def mark_dead(self, message_id: int, error: str) -> None:
        async with self._tx() as s:
            await s.execute(
                update(m.OutboxMessage)
                .where(m.OutboxMessage.id == message_id)
                .values(status="dead", claimed_until=None, last_error=error[:2000])
            )

    async def next_due(self) -> datetime | None:
        async with self._tx() as s:
            return await s.scalar(
                select(m.OutboxMessage.next_attempt_at)
                .where(m.OutboxMessage.status == "pending")
                .order_by(m.OutboxMessage.next_attempt_at)
                .limit(1)
            )

    async def newer_edit_sent(self, edit_of: str, message_id: int) -> bool:
        """A later edit of the same message already went out: this one is stale."""
        async with self._tx() as s:
            count = await s.scalar(
                select(func.count()).where(
                    m.OutboxMessage.edit_of == edit_of,
                    m.OutboxMessage.id > message_id,
                    m.OutboxMessage.status == "sent",
                )
            )
            return bool(count)

    async def guard_holds(self, guard: str) -> bool:
        """Whether a guarded message should still go out."""
        kind, _, arg = guard.partition(":")
        if kind == "unless_connected" and arg.isdigit():
            async with self._tx() as s:
                state = await s.scalar(
                    select(m.CalendarConnection.state).filter_by(user_id=int(arg))
                )
                return state != "connected"
        return True

    async def mark_skipped(self, message_id: int, reason: str) -> None:
        async with self._tx() as s:
            await s.execute(
                update(m.OutboxMessage)
                .where(m.OutboxMessage.id == message_id)
                .values(status="skipped", claimed_until=None, last_error=reason[:2000])
            )

    async def batch_counts(self, batch: str) -> dict[str, int]:
        async with self._tx() as s:
            rows = await s.execute(
                select(m.OutboxMessage.status, func.count())
                .where(m.OutboxMessage.batch == batch)
                .group_by(m.OutboxMessage.status)
            )
            return {status: int(count) for status, count in rows.all()}

    async def existing_keys(self, keys: list[str]) -> set[str]:
        if not keys:
            return set()
        async with self._tx() as s:
            rows = await s.scalars(select(m.OutboxMessage.key).where(m.OutboxMessage.key.in_(keys)))
            return set(rows.all())

    # --- reports ---------------------------------------------------------------------

    async def sync_facts(
        self, platform: str, workspace_id: str, user_ids: list[str]
    ) -> dict[str, SyncFacts]:
        """Connection facts for many people in two statements, whatever the team size."""
        if not user_ids:
            return {}
        members = (
            *_in_workspace(platform, workspace_id),
            m.ChatUser.platform_user_id.in_(user_ids),
        )
        async with self._tx() as s:
            users = (
                await s.execute(
                    # Columns, not ORM entities: 10,000 rows load several times faster.
                    select(
                        m.ChatUser.id,
                        m.ChatUser.platform_user_id,
                        m.CalendarConnection.state,
                        m.CalendarConnection.provider_name,
                        m.CalendarConnection.provider_service,
                        m.CalendarConnection.profile_name,
                        m.CalendarConnection.last_error,
                    )
                    .join(m.Workspace, m.Workspace.id == m.ChatUser.workspace_id)
                    .outerjoin(m.CalendarConnection, m.CalendarConnection.user_id == m.ChatUser.id)
                    .where(*members)
                )
            ).all()
            links = (
                await s.execute(
                    select(
                        m.ConnectLink.user_id,
                        m.ConnectLink.created_at,
                        m.ConnectLink.clicked_at,
                        m.ConnectLink.completed_at,
                        m.ConnectLink.failed_at,
                        m.ConnectLink.failure,
                    )
                    .join(m.ChatUser, m.ChatUser.id == m.ConnectLink.user_id)
                    .join(m.Workspace, m.Workspace.id == m.ChatUser.workspace_id)
                    .where(*members)
                    .order_by(m.ConnectLink.created_at)
                )
            ).all()
        per_user: dict[int, list[Any]] = {}
        for link in links:
            per_user.setdefault(link.user_id, []).append(link)
        facts: dict[str, SyncFacts] = {}
        for row in users:
            history = per_user.get(row.id, [])
            last = history[-1] if history else None
            clicked = [x.clicked_at for x in history if x.clicked_at]
            facts[row.platform_user_id] = SyncFacts(
                platform_user_id=row.platform_user_id,
                chat_user_id=row.id,
                connection_state=row.state,
                provider_name=row.provider_name or "",
                provider_service=row.provider_service,
                profile_name=row.profile_name or "",
                connection_error=row.last_error,
                links_sent=len(history),
                last_link_at=last.created_at if last else None,
                last_clicked_at=max(clicked) if clicked else None,
                last_completed_at=last.completed_at if last else None,
                last_failed_at=last.failed_at if last else None,
                last_failure=last.failure if last else None,
            )
        return facts

    async def connection_counts(self, platform: str, workspace_id: str) -> dict[str, int]:
        """How many known people are in each connection state (App Home's admin summary)."""
        async with self._tx() as s:
            rows = await s.execute(
                select(m.CalendarConnection.state, func.count())
                .join(m.ChatUser, m.ChatUser.id == m.CalendarConnection.user_id)
                .join(m.Workspace, m.Workspace.id == m.ChatUser.workspace_id)
                .where(*_in_workspace(platform, workspace_id))
                .group_by(m.CalendarConnection.state)
            )
            return {state: int(count) for state, count in rows.all()}

    async def save_report(
        self, requester: UserRecord, team: str, label: str, message_key: str
    ) -> None:
        now = self._now()
        async with self._tx() as s:
            ws = await self._workspace(s, requester.ref.platform, requester.ref.workspace_id)
            s.add(
                m.StatusReport(
                    workspace_id=ws.id,
                    requester_id=requester.id,
                    team=team[:400],
                    label=label[:255],
                    message_key=message_key,
                    created_at=now,
                    # Eligible for its first refresh at once; later ones at most per minute.
                    refreshed_at=now - timedelta(minutes=2),
                )
            )

    async def claim_reports_to_refresh(
        self, user_id: int, *, since: datetime, refreshed_before: datetime, limit: int = 5
    ) -> list[tuple[UserRecord, str, str]]:
        """Recent reports in this person's workspace, each claimed for one refresh (at most
        once per minute), as (requester, team, message key)."""
        now = self._now()
        claimed: list[tuple[UserRecord, str, str]] = []
        async with self._tx() as s:
            person = await s.get(m.ChatUser, user_id)
            if person is None:
                return []
            rows = (
                await s.scalars(
                    select(m.StatusReport)
                    .where(
                        m.StatusReport.workspace_id == person.workspace_id,
                        m.StatusReport.created_at >= since,
                        m.StatusReport.refreshed_at < refreshed_before,
                    )
                    .order_by(m.StatusReport.created_at.desc())
                    .limit(limit)
                )
            ).all()
            for row in rows:
                result = await s.execute(
                    update(m.StatusReport)
                    .where(
                        m.StatusReport.id == row.id,
                        m.StatusReport.refreshed_at < refreshed_before,
                    )
                    .values(refreshed_at=now)
                )
                requester = await s.get(m.ChatUser, row.requester_id)
                if getattr(result, "rowcount", 0) and requester is not None:
                    claimed.append((_user_record(requester), row.team, row.message_key))
        return claimed

    async def upsert_members(
        self, platform: str, workspace_id: str, members: list[tuple[str, ChatProfile, Any]]
    ) -> dict[str, UserRecord]:
        """Make sure each roster member has a row (for links and nudges), in one transaction."""
        async with self._tx() as s:
            ws = await self._workspace(s, platform, workspace_id)
            ids = [uid for uid, _, _ in members]
            existing = {
                row.platform_user_id: row
                for row in (
                    await s.scalars(
                        select(m.ChatUser).where(
                            m.ChatUser.workspace_id == ws.id, m.ChatUser.platform_user_id.in_(ids)
                        )
                    )
                ).all()
            }
            now = self._now()
            for uid, profile, address in members:
                row = existing.get(uid)
                if row is None:
                    row = m.ChatUser(
                        workspace_id=ws.id,
                        platform_user_id=uid,
                        display_name=profile.display_name,
                        email=profile.email,
                        tz=profile.tz,
                        is_admin=profile.is_admin,
                        address=address,
                        created_at=now,
                        updated_at=now,
                    )
                    s.add(row)
                    existing[uid] = row
                else:
                    row.display_name = profile.display_name or row.display_name
                    row.email = profile.email or row.email
                    row.tz = profile.tz or row.tz
                    if address is not None:
                        row.address = address
                    _touch(s, row, now)
            await s.flush()
            for row in existing.values():
                row.workspace = ws
            return {uid: _user_record(row) for uid, row in existing.items()}

    # --- connection health -------------------------------------------------------------

    async def claim_connections_for_check(
        self, now: datetime, checked_before: datetime, limit: int, lease_seconds: float
    ) -> list[ConnectionCheck]:
        lease = now + timedelta(seconds=lease_seconds)
        claimed: list[ConnectionCheck] = []
        async with self._tx() as s:
            rows = (
                await s.scalars(
                    select(m.CalendarConnection)
                    .where(
                        or_(
                            m.CalendarConnection.last_checked_at.is_(None),
                            m.CalendarConnection.last_checked_at < checked_before,
                        ),
                        or_(
                            m.CalendarConnection.check_claimed_until.is_(None),
                            m.CalendarConnection.check_claimed_until < now,
                        ),
                        m.CalendarConnection.state != "revoked",
                    )
                    .order_by(m.CalendarConnection.last_checked_at.nulls_first())
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                result = await s.execute(
                    update(m.CalendarConnection)
                    .where(
                        m.CalendarConnection.id == row.id,
                        or_(
                            m.CalendarConnection.last_checked_at.is_(None),
                            m.CalendarConnection.last_checked_at < checked_before,
                        ),
                        or_(
                            m.CalendarConnection.check_claimed_until.is_(None),
                            m.CalendarConnection.check_claimed_until < now,
                        ),
                    )
                    .values(check_claimed_until=lease)
                    .execution_options(synchronize_session=False)
                )
                if not getattr(result, "rowcount", 0):
                    continue
                user = await s.get(m.ChatUser, row.user_id)
                assert user is not None
                claimed.append(
                    ConnectionCheck(
                        connection=_connection_record(row),
                        user=_user_record(user),
                        access_token=self._cipher.decrypt(row.access_token_enc),
                        refresh_token=self._cipher.decrypt(row.refresh_token_enc),
                        channel_id=row.channel_id,
                    )
                )
        return claimed

    async def store_tokens(self, connection_id: int, tokens: TokenSet) -> None:
        async with self._tx() as s:
            await s.execute(
                update(m.CalendarConnection)
                .where(m.CalendarConnection.id == connection_id)
                .values(
                    access_token_enc=self._cipher.encrypt(tokens.access_token),
                    refresh_token_enc=self._cipher.encrypt(tokens.refresh_token),
                    expires_at=tokens.expires_at,
                    updated_at=self._now(),
                )
            )

    async def set_connection_state(
        self,
        connection_id: int,
        state: str,
        *,
        relink_url: str | None = None,
        error: str | None = None,
        outbox: list[OutboxItem] | None = None,
    ) -> bool:
        """Move a connection to `state`; messages go out only when the state really changed."""
        async with self._tx() as s:
            result = await s.execute(
                update(m.CalendarConnection)
                .where(
                    m.CalendarConnection.id == connection_id, m.CalendarConnection.state != state
                )
                .values(
                    state=state, relink_url=relink_url, last_error=error, updated_at=self._now()
                )
            )
            changed = bool(getattr(result, "rowcount", 0))
            if changed and outbox:
                self._add_outbox(s, outbox)
            return changed

    async def finish_check(self, connection_id: int, now: datetime) -> None:
        async with self._tx() as s:
            await s.execute(
                update(m.CalendarConnection)
                .where(m.CalendarConnection.id == connection_id)
                .values(last_checked_at=now, check_claimed_until=None)
            )

    async def mark_check_due(self, connection_id: int) -> None:
        """A push notification said something changed: check this one first, soon."""
        async with self._tx() as s:
            await s.execute(
                update(m.CalendarConnection)
                .where(m.CalendarConnection.id == connection_id)
                .values(last_checked_at=None)
            )

    async def set_channel(self, connection_id: int, channel_id: str, key_hash: str) -> None:
        async with self._tx() as s:
            await s.execute(
                update(m.CalendarConnection)
                .where(m.CalendarConnection.id == connection_id)
                .values(channel_id=channel_id, channel_key_hash=key_hash)
            )

    async def connection_for_channel(self, key_hash: str) -> ConnectionCheck | None:
        async with self._tx() as s:
            row = await s.scalar(select(m.CalendarConnection).filter_by(channel_key_hash=key_hash))
            if row is None:
                return None
            user = await s.get(m.ChatUser, row.user_id)
            assert user is not None
            return ConnectionCheck(
                connection=_connection_record(row),
                user=_user_record(user),
                access_token=self._cipher.decrypt(row.access_token_enc),
                refresh_token=self._cipher.decrypt(row.refresh_token_enc),
                channel_id=row.channel_id,
            )

    # --- consent incidents ------------------------------------------------------------

    async def record_report(
        self,
        report: NewReport,
        *,
        group: tuple[str, str, str, str] | None,
    ) -> tuple[int | None, bool]:
        """Store a signal; with `group` = (platform, workspace, tenant, domain), attach it to
        the live incident for that tenant and class (created if needed).

        Returns (incident id, whether this is a failure after an admin said it was fixed).
        """
        for attempt in range(2):
            try:
                return await self._record_report(report, group)
            except IntegrityError:
                if attempt:  # a concurrent signal created the incident: join it
                    raise
        raise AssertionError("unreachable")

    async def _record_report(
        self, report: NewReport, group: tuple[str, str, str, str] | None
    ) -> tuple[int | None, bool]:
        now = self._now()
        async with self._tx() as s:
            incident: m.ConsentIncident | None = None
            after_fix = False
            if group is not None:
                platform, workspace_id, tenant, domain = group
                ws = await self._workspace(s, platform, workspace_id)
                live_key = f"{ws.id}:{tenant}:{report.failure_class}"
                incident = await s.scalar(
                    select(m.ConsentIncident).filter_by(live_key=live_key).with_for_update()
                )
                if incident is None:
                    incident = m.ConsentIncident(
                        workspace_id=ws.id,
                        tenant=tenant,
                        tenant_domain=domain,
                        failure_class=report.failure_class,
                        state="open",
                        live_key=live_key,
                        version=1,
                        generation=1,
                        created_at=now,
                        updated_at=now,
                    )
                    s.add(incident)
                    await s.flush()
                else:
                    if incident.state == "fixed":
                        after_fix = True
                        incident.state = "open"
                        incident.generation += 1
                    incident.version += 1
                    incident.updated_at = now
            s.add(
                m.ConsentReport(
                    incident_id=incident.id if incident else None,
                    user_id=report.user_id,
                    link_id=report.link_id,
                    kind=report.kind,
                    failure_class=report.failure_class,
                    confidence=report.confidence,
                    code=report.code,
                    correlation_id=report.correlation_id,
                    request_id=report.request_id,
                    occurred_at=report.occurred_at,
                    detail=(report.detail or "")[:4000] or None,
                    attachment=report.attachment,
                    generation=incident.generation if incident else 1,
                    created_at=now,
                )
            )
            await s.flush()
            return (incident.id if incident else None), after_fix

    async def get_incident(self, incident_id: int) -> IncidentRecord | None:
        async with self._tx() as s:
            incident = await s.get(m.ConsentIncident, incident_id)
            if incident is None:
                return None
            ws = await s.get(m.Workspace, incident.workspace_id)
            assert ws is not None
            rows = (
                await s.execute(
                    select(m.ConsentReport, m.ChatUser)
                    .join(m.ChatUser, m.ChatUser.id == m.ConsentReport.user_id)
                    .where(m.ConsentReport.incident_id == incident_id)
                    .order_by(m.ConsentReport.created_at, m.ConsentReport.id)
                )
            ).all()
            user_ids = {user.id for _, user in rows}
            connected = (
                set(
                    (
                        await s.scalars(
                            select(m.CalendarConnection.user_id).where(
                                m.CalendarConnection.user_id.in_(user_ids),
                                m.CalendarConnection.state == "connected",
                            )
                        )
                    ).all()
                )
                if user_ids
                else set()
            )
            reports = tuple(
                ReportRecord(
                    user=_user_record(user),
                    kind=r.kind,
                    failure_class=r.failure_class,
                    confidence=r.confidence,
                    created_at=r.created_at,
                    generation=r.generation,
                    code=r.code,
                    correlation_id=r.correlation_id,
                    request_id=r.request_id,
                    occurred_at=r.occurred_at,
                    attachment=r.attachment,
                )
                for r, user in rows
            )
            return IncidentRecord(
                id=incident.id,
                platform=ws.platform,
                workspace_id=ws.external_id,
                tenant=incident.tenant,
                tenant_domain=incident.tenant_domain,
                failure_class=incident.failure_class,
                state=incident.state,
                version=incident.version,
                generation=incident.generation,
                created_at=incident.created_at,
                fixed_at=incident.fixed_at,
                fixed_by=incident.fixed_by,
                reports=reports,
                connected_user_ids=frozenset(connected),
            )

    async def set_incident_state(
        self, incident_id: int, state: str, *, by: str | None = None, expect: str | None = None
    ) -> bool:
        """Move an incident on; `expect` makes it a compare-and-set (double clicks)."""
        now = self._now()
        values: dict[str, Any] = {
            "state": state,
            "updated_at": now,
            "version": m.ConsentIncident.version + 1,
        }
        if state == "fixed":
            values.update(fixed_at=now, fixed_by=by)
        if state in {"resolved", "dismissed"}:
            values.update(live_key=None, closed_at=now)
        async with self._tx() as s:
            query = update(m.ConsentIncident).where(m.ConsentIncident.id == incident_id)
            if expect is not None:
                query = query.where(m.ConsentIncident.state == expect)
            result = await s.execute(query.values(**values))
            return bool(getattr(result, "rowcount", 0))

    async def live_incidents_for_user(self, user_id: int) -> list[int]:
        async with self._tx() as s:
            rows = await s.scalars(
                select(m.ConsentIncident.id)
                .join(m.ConsentReport, m.ConsentReport.incident_id == m.ConsentIncident.id)
                .where(
                    m.ConsentReport.user_id == user_id,
                    m.ConsentIncident.state.in_(["open", "fixed"]),
                )
                .distinct()
            )
            return list(rows.all())

    async def open_incident_count(self) -> int:
        async with self._tx() as s:
            return int(
                await s.scalar(
                    select(func.count()).where(m.ConsentIncident.state.in_(["open", "fixed"]))
                )
                or 0
            )

    async def workspace_admins(self, platform: str, workspace_id: str) -> list[UserRecord]:
        async with self._tx() as s:
            rows = await s.scalars(
                select(m.ChatUser)
                .join(m.Workspace)
                .where(
                    *_in_workspace(platform, workspace_id),
                    m.ChatUser.is_admin.is_(True),
                )
                .order_by(m.ChatUser.id)
            )
            return [_user_record(row) for row in rows.all()]

    async def users_by_ids_or_emails(
        self, platform: str, workspace_id: str, keys: frozenset[str]
    ) -> list[UserRecord]:
        if not keys:
            return []
        async with self._tx() as s:
            rows = await s.scalars(
                select(m.ChatUser)
                .join(m.Workspace)
                .where(
                    *_in_workspace(platform, workspace_id),
                    or_(
                        func.lower(m.ChatUser.platform_user_id).in_(keys),
                        func.lower(m.ChatUser.email).in_(keys),
                    ),
                )
            )
            return [_user_record(row) for row in rows.all()]

    async def workspace_settings(self, platform: str, workspace_id: str) -> dict[str, Any]:
        async with self._tx() as s:
            ws = await self._workspace(s, platform, workspace_id)
            return dict(ws.settings or {})

    async def update_workspace_settings(
        self, platform: str, workspace_id: str, patch: dict[str, Any]
    ) -> None:
        async with self._tx() as s:
            # Locked for the read-modify-write: two admins changing their own keys at once
            # must not lose one another's change (SQLite serialises writers anyway).
            ws = await self._workspace(s, platform, workspace_id, lock=True)
            ws.settings = {**(ws.settings or {}), **patch}

    async def merge_workspace_setting(
        self, platform: str, workspace_id: str, key: str, fields: dict[str, Any]
    ) -> bool:
        """Merge `fields` into the dict stored at `key`, if it is still there: a job that
        read the setting a while ago must not bring back or undo someone's change."""
        async with self._tx() as s:
            ws = await self._workspace(s, platform, workspace_id, lock=True)
            current = (ws.settings or {}).get(key)
            if not isinstance(current, dict):
                return False
            ws.settings = {**(ws.settings or {}), key: {**current, **fields}}
            return True

    async def all_workspace_settings(self) -> list[tuple[str, str, dict[str, Any]]]:
        async with self._tx() as s:
            rows = await s.execute(
                select(m.Workspace.platform, m.Workspace.external_id, m.Workspace.settings)
            )
            return [(p, w, dict(settings)) for p, w, settings in rows.all() if settings]

    async def anyone_connected_in_domain(
        self, platform: str, workspace_id: str, domain: str
    ) -> bool:
        async with self._tx() as s:
            count = await s.scalar(
                select(func.count())
                .select_from(m.CalendarConnection)
                .join(m.ChatUser, m.ChatUser.id == m.CalendarConnection.user_id)
                .join(m.Workspace, m.Workspace.id == m.ChatUser.workspace_id)
                .where(
                    *_in_workspace(platform, workspace_id),
                    m.CalendarConnection.state == "connected",
                    func.lower(m.ChatUser.email).like(f"%@{domain.lower()}"),
                )
            )
            return bool(count)

    async def claim_stalled_links(
        self,
        now: datetime,
        clicked_before: datetime,
        limit: int = 100,
        *,
        follow_up: str | None = None,
    ) -> list[LinkRecord]:
        """Links opened but never finished: each is claimed once for the follow-up.

        With `follow_up` (a message payload), the edit of each claimed link's DM is queued
        in the claiming transaction: a process that dies after claiming cannot take the
        follow-up with it (a later run would find nothing left to claim).
        """
        claimed: list[LinkRecord] = []
        async with self._tx() as s:
            rows = (
                await s.scalars(
                    select(m.ConnectLink)
                    .where(
                        m.ConnectLink.clicked_at.is_not(None),
                        m.ConnectLink.clicked_at < clicked_before,
                        m.ConnectLink.completed_at.is_(None),
                        m.ConnectLink.failed_at.is_(None),
                        m.ConnectLink.stalled_at.is_(None),
                    )
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in rows:
                result = await s.execute(
                    update(m.ConnectLink)
                    .where(m.ConnectLink.id == row.id, m.ConnectLink.stalled_at.is_(None))
                    .values(stalled_at=now)
                    .execution_options(synchronize_session=False)
                )
                if not getattr(result, "rowcount", 0):
                    continue
                claimed.append(_link_record(row))
                user = await s.get(m.ChatUser, row.user_id)
                if follow_up is not None and row.message_key and user is not None:
                    person = _user_record(user)
                    edit = OutboxItem(
                        key=f"{row.message_key}:stalled",
                        platform=person.ref.platform,
                        payload_json=follow_up,
                        recipient=person.recipient,
                        edit_of=row.message_key,
                    )
                    self._add_outbox(s, [edit])
        return claimed

    async def awaiting_answer(self, user_id: int, since: datetime) -> int | None:
        """The link of a recent connect that was opened but never finished, if any: what the
        person pastes next is likely Microsoft's error page."""
        async with self._tx() as s:
            link_id = await s.scalar(
                select(m.ConnectLink.id)
                .where(
                    m.ConnectLink.user_id == user_id,
                    m.ConnectLink.clicked_at >= since,
                    m.ConnectLink.completed_at.is_(None),
                )
                .order_by(m.ConnectLink.clicked_at.desc())
                .limit(1)
            )
            return int(link_id) if link_id is not None else None

    # --- key rotation ------------------------------------------------------------------

    async def rotate_keys(self, batch: int = 500) -> int:
        """Re-encrypt every stored secret with the newest key; old keys must still be listed.

        Batches by primary key so a large table never sits in one transaction.
        """
        rotated = 0
        tables: tuple[tuple[Any, tuple[str, ...]], ...] = (
            (m.CalendarConnection, ("access_token_enc", "refresh_token_enc")),
            (m.OutboxMessage, ("payload",)),
        )
        for model, columns in tables:
            last_id = 0
            while True:
                async with self._tx() as s:
                    rows = (
                        await s.scalars(
                            select(model)
                            .where(model.id > last_id)
                            .order_by(model.id)
                            .limit(batch)
                            .with_for_update()
                        )
                    ).all()
                    for row in rows:
                        for column in columns:
                            setattr(row, column, self._cipher.rotate(getattr(row, column)))
                        rotated += 1
                    if not rows:
                        break
                    last_id = rows[-1].id
        return rotated

    # --- inbound dedup ---------------------------------------------------------------

    async def first_time(self, platform: str, event_id: str, now: datetime) -> bool:
        try:
            async with self._tx() as s:
                s.add(m.ProcessedEvent(platform=platform, event_id=event_id[:255], received_at=now))
            return True
        except IntegrityError:
            return False


def _touch(s: AsyncSession, row: m.ChatUser, now: datetime) -> None:
    """`updated_at` moves only when the profile did: every command and click looks its
    person up, and an UPDATE for an unchanged row is a write lock per request (on
    SQLite, one writer at a time, the queue a burst of Slack commands waits in)."""
    if row in s.new or s.is_modified(row):
        row.updated_at = now


def _with_key(item: OutboxItem, link_id: int) -> OutboxItem:
    """Outbox keys of a link's DM are only known once the link has its id."""
    return OutboxItem(
        key=item.key.replace("{link}", str(link_id)),
        platform=item.platform,
        payload_json=item.payload_json,
        recipient=item.recipient,
        edit_of=item.edit_of.replace("{link}", str(link_id)) if item.edit_of else None,
        guard=item.guard,
        batch=item.batch,
    )

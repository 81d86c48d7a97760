"""Tables. Tokens are stored encrypted; connect-link tokens only as SHA-256 hashes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        from datetime import UTC

        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        # SQLite keeps the wall time and drops the offset: 10:12+01:00 would read back
        # as 10:12 UTC, and compare wrongly with the rows around it.
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        from datetime import UTC

        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Workspace(Base):
    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(255), default="")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class ChatUser(Base):
    __tablename__ = "chat_users"
    __table_args__ = (UniqueConstraint("workspace_id", "platform_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    platform_user_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    tz: Mapped[str | None] = mapped_column(String(64))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # The adapter's own address for DMs (Teams conversation reference), plain JSON.
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    workspace: Mapped[Workspace] = relationship(lazy="joined")


class CalendarConnection(Base):
    __tablename__ = "calendar_connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("chat_users.id", ondelete="CASCADE"), unique=True
    )
    cronofy_sub: Mapped[str] = mapped_column(String(128), index=True)
    provider_name: Mapped[str] = mapped_column(String(64), default="")
    provider_service: Mapped[str | None] = mapped_column(String(64))
    profile_id: Mapped[str | None] = mapped_column(String(128))
    profile_name: Mapped[str] = mapped_column(String(320), default="")
    access_token_enc: Mapped[str] = mapped_column(Text)
    refresh_token_enc: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    # connected | needs_relink | revoked
    state: Mapped[str] = mapped_column(String(32), default="connected", index=True)
    channel_id: Mapped[str | None] = mapped_column(String(128))
    channel_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    relink_url: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_checked_at: Mapped[datetime | None]
    connected_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # A health check holds this lease so two instances never check one connection at once.
    check_claimed_until: Mapped[datetime | None]


class ConnectLink(Base):
    __tablename__ = "connect_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("chat_users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    clicked_at: Mapped[datetime | None]
    click_count: Mapped[int] = mapped_column(Integer, default=0)
    # A fresh nonce per click goes into the OAuth state; the callback must present it.
    state_nonce: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    failure: Mapped[str | None] = mapped_column(Text)
    # The outbox key of the DM that carries this link, so it can be edited in place.
    message_key: Mapped[str | None] = mapped_column(String(255))
    purpose: Mapped[str] = mapped_column(String(32), default="connect")
    # When the "what did Microsoft show?" follow-up went out for a stalled click.
    stalled_at: Mapped[datetime | None]


class ProcessedEvent(Base):
    """Inbound platform events already handled, so a platform retry is processed once."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("platform", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(index=True)


class OutboxMessage(Base):
    """Every outbound chat message: persisted first, delivered by the worker, never twice."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    platform: Mapped[str] = mapped_column(String(16), index=True)
    # send: a new DM to `recipient`; update: edit the message sent for `edit_of`.
    kind: Mapped[str] = mapped_column(String(16), default="send")
    recipient: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    edit_of: Mapped[str | None] = mapped_column(String(255), index=True)
    payload: Mapped[str] = mapped_column(Text)
    # pending | sent | skipped | dead
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    # Checked just before sending, e.g. "unless_connected:42": a nudge to someone who has
    # connected meanwhile is skipped, not sent.
    guard: Mapped[str | None] = mapped_column(String(64))
    # Messages sent as one fan-out (a nudge batch), so progress can be reported.
    batch: Mapped[str | None] = mapped_column(String(64), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    claimed_until: Mapped[datetime | None]
    sent_ref: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class ConsentIncident(Base):
    """People of one tenant blocked for one reason: one alert, however many people."""

    __tablename__ = "consent_incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    tenant: Mapped[str] = mapped_column(String(255))
    tenant_domain: Mapped[str] = mapped_column(String(255), default="")
    failure_class: Mapped[str] = mapped_column(String(64))
    # open | fixed (admin says fixed, waiting for people to retry) | resolved | dismissed
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    # Set while open or fixed, NULL once closed: at most one live incident per tenant/class.
    live_key: Mapped[str | None] = mapped_column(String(400), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Bumped when a failure arrives after "I've fixed it": evidence starts afresh.
    generation: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    fixed_at: Mapped[datetime | None]
    fixed_by: Mapped[str | None] = mapped_column(String(255))
    closed_at: Mapped[datetime | None]


class ConsentReport(Base):
    """One signal: a callback error, a stalled link, an answer, pasted text, invalid_grant."""

    __tablename__ = "consent_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("consent_incidents.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("chat_users.id", ondelete="CASCADE"), index=True
    )
    link_id: Mapped[int | None] = mapped_column(ForeignKey("connect_links.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    failure_class: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[str] = mapped_column(String(16), default="low")
    code: Mapped[str | None] = mapped_column(String(32))
    correlation_id: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime | None]
    detail: Mapped[str | None] = mapped_column(Text)
    attachment: Mapped[str | None] = mapped_column(Text)
    generation: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(index=True)


class Proposal(Base):
    """An interview to schedule: who, how long, when, and the slots offered."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    coordinator_id: Mapped[int] = mapped_column(ForeignKey("chat_users.id", ondelete="CASCADE"))
    candidate_name: Mapped[str] = mapped_column(String(255))
    candidate_email: Mapped[str | None] = mapped_column(String(320))
    title: Mapped[str] = mapped_column(String(255))
    # The request as entered (duration, window, notice, buffers, pool N, count, zone).
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    # waiting (interviewers not connected) | open | booking | booked | cancelled | expired
    # | failed
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ProposalParticipant(Base):
    __tablename__ = "proposal_participants"
    __table_args__ = (UniqueConstraint("proposal_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("chat_users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))  # required | pool
    position: Mapped[int] = mapped_column(Integer, default=0)
    # invited | none_work | replaced
    state: Mapped[str] = mapped_column(String(16), default="invited")


class ProposalSlot(Base):
    __tablename__ = "proposal_slots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    start: Mapped[datetime]
    end: Mapped[datetime]
    # open | withdrawn | conflict | booked
    state: Mapped[str] = mapped_column(String(16), default="open")


class SlotResponse(Base):
    __tablename__ = "slot_responses"
    __table_args__ = (UniqueConstraint("slot_id", "participant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("proposal_slots.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("proposal_participants.id", ondelete="CASCADE")
    )
    answer: Mapped[str] = mapped_column(String(16))  # accept | decline
    answered_at: Mapped[datetime]


class Booking(Base):
    """At most one per proposal (a database constraint): two accepts never book twice."""

    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("proposals.id", ondelete="CASCADE"), unique=True
    )
    slot_id: Mapped[int] = mapped_column(ForeignKey("proposal_slots.id", ondelete="CASCADE"))
    # booking (events being written; resumable) | booked | cancelled
    state: Mapped[str] = mapped_column(String(16), default="booking")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StatusReport(Base):
    """A team report an admin received, so it can be refreshed as people connect."""

    __tablename__ = "status_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    requester_id: Mapped[int] = mapped_column(ForeignKey("chat_users.id", ondelete="CASCADE"))
    team: Mapped[str] = mapped_column(String(400))  # TeamRef as "kind:id"
    label: Mapped[str] = mapped_column(String(255), default="")
    message_key: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    refreshed_at: Mapped[datetime]

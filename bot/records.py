"""Plain records the core reads from and writes to its store (no ORM types leak in)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.identity import Recipient, UserRef

PROVIDER_NAMES = {
    ("exchange", "office365"): "Office 365",
    ("exchange", "exchange"): "Exchange",
    ("exchange", None): "Office 365",
    ("google", "gsuite"): "Google Workspace",
    ("google", "google"): "Google Calendar",
    ("google", None): "Google Calendar",
    ("apple", "icloud"): "iCloud",
    ("live_connect", "outlook_com"): "Outlook.com",
}


MAX_ROW_ID = 2**31 - 1  # ids are INTEGER columns: PostgreSQL refuses anything larger


def row_id(value: str) -> int | None:
    """A database id from a button value, or None. `str.isdigit` alone accepts "²" (which
    `int` rejects) and ids too large for the column (which asyncpg rejects)."""
    if value.isascii() and value.isdigit() and len(value) <= 10 and int(value) <= MAX_ROW_ID:
        return int(value)
    return None


def provider_label(provider_name: str, provider_service: str | None) -> str:
    """Cronofy reports Office 365 as provider `exchange`, service `office365`."""
    return (
        PROVIDER_NAMES.get((provider_name, provider_service))
        or PROVIDER_NAMES.get((provider_name, None))
        or provider_name.replace("_", " ").title()
    )


@dataclass(frozen=True)
class UserRecord:
    id: int
    ref: UserRef
    display_name: str = ""
    email: str | None = None
    tz: str | None = None
    is_admin: bool = False
    address: dict[str, Any] | None = None

    @property
    def recipient(self) -> Recipient:
        return Recipient(user=self.ref, address=self.address)


@dataclass(frozen=True)
class ConnectionRecord:
    id: int
    user_id: int
    cronofy_sub: str
    provider_name: str
    provider_service: str | None
    profile_name: str
    state: str
    expires_at: datetime
    connected_at: datetime
    relink_url: str | None = None

    @property
    def provider_label(self) -> str:
        return provider_label(self.provider_name, self.provider_service)

    @property
    def is_healthy(self) -> bool:
        return self.state == "connected"


@dataclass(frozen=True)
class LinkRecord:
    id: int
    user_id: int
    created_at: datetime
    expires_at: datetime
    clicked_at: datetime | None
    completed_at: datetime | None
    failed_at: datetime | None
    state_nonce: str | None
    message_key: str | None


@dataclass(frozen=True)
class OutboxItem:
    """A message to deliver. `edit_of` names the key of an earlier message to edit instead."""

    key: str
    platform: str
    payload_json: str
    recipient: Recipient | None = None
    edit_of: str | None = None
    guard: str | None = None
    batch: str | None = None


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    key: str
    platform: str
    kind: str
    payload_json: str
    recipient: Recipient | None
    edit_of: str | None
    attempts: int
    guard: str | None = None
    batch: str | None = None
    # An earlier attempt was claimed but never reported back (the process died mid-send):
    # the message may already be on the platform.
    in_doubt: bool = False
    # The end of this worker's claim: renewed before a send late in a long batch, and a
    # renewal that finds another claim means another worker has taken the message over.
    claimed_until: datetime | None = None


@dataclass(frozen=True)
class OutboxState:
    """One queued message as it stands: pending | sent | dead | skipped."""

    status: str
    next_attempt_at: datetime
    sent_ref: dict[str, object] | None = None  # where it went, once sent


@dataclass(frozen=True)
class SyncFacts:
    """Everything the store knows about one person's calendar connection, for reports."""

    platform_user_id: str
    chat_user_id: int | None = None
    connection_state: str | None = None
    provider_name: str = ""
    provider_service: str | None = None
    profile_name: str = ""
    links_sent: int = 0
    last_link_at: datetime | None = None
    last_clicked_at: datetime | None = None
    last_completed_at: datetime | None = None
    last_failed_at: datetime | None = None
    last_failure: str | None = None
    connection_error: str | None = None


@dataclass(frozen=True)
class ConnectionCheck:
    """A connection claimed for a health check, with what the check needs."""

    connection: ConnectionRecord
    user: UserRecord
    access_token: str
    refresh_token: str
    channel_id: str | None


@dataclass(frozen=True)
class ReportRecord:
    user: UserRecord
    kind: str
    failure_class: str
    confidence: str
    created_at: datetime
    generation: int
    code: str | None = None
    correlation_id: str | None = None
    request_id: str | None = None
    occurred_at: datetime | None = None
    attachment: str | None = None


@dataclass(frozen=True)
class IncidentRecord:
    id: int
    platform: str
    workspace_id: str
    tenant: str
    tenant_domain: str
    failure_class: str
    state: str
    version: int
    generation: int
    created_at: datetime
    fixed_at: datetime | None
    fixed_by: str | None
    reports: tuple[ReportRecord, ...]
    connected_user_ids: frozenset[int]

    @property
    def affected(self) -> list[UserRecord]:
        seen: dict[int, UserRecord] = {}
        for report in self.reports:
            seen.setdefault(report.user.id, report.user)
        return list(seen.values())

    @property
    def current_reports(self) -> list[ReportRecord]:
        """Evidence of this generation only: after a fix, old sign-in records are stale."""
        return [r for r in self.reports if r.generation == self.generation]


@dataclass(frozen=True)
class NewReport:
    """A consent signal to record."""

    user_id: int
    kind: str
    failure_class: str
    confidence: str
    link_id: int | None = None
    code: str | None = None
    correlation_id: str | None = None
    request_id: str | None = None
    occurred_at: datetime | None = None
    detail: str | None = None
    attachment: str | None = None


@dataclass(frozen=True)
class ParticipantRecord:
    id: int
    user: UserRecord
    role: str  # required | pool
    position: int
    state: str  # invited | none_work | replaced


@dataclass(frozen=True)
class SlotRecord:
    id: int
    start: datetime
    end: datetime
    state: str  # open | withdrawn | conflict | booked


# Proposal states in which it is still looking for a time: a search may (re)offer
# slots and the expiry job may close it. Then: booking → booked, or cancelled/expired.
SEARCHABLE = ("open", "waiting")


@dataclass(frozen=True)
class ProposalRecord:
    id: int
    platform: str
    workspace_id: str
    coordinator: UserRecord
    candidate_name: str
    candidate_email: str | None
    title: str
    request: dict[str, Any]
    state: str
    version: int
    created_at: datetime
    expires_at: datetime
    participants: tuple[ParticipantRecord, ...]
    slots: tuple[SlotRecord, ...]
    # (slot id, participant id) -> "accept" | "decline"
    responses: dict[tuple[int, int], str]
    booked_slot_id: int | None = None
    booking_state: str | None = None

    def participant_for(self, user_id: int) -> ParticipantRecord | None:
        return next((p for p in self.participants if p.user.id == user_id), None)

    @property
    def active(self) -> list[ParticipantRecord]:
        return [p for p in self.participants if p.state != "replaced"]

    def slot(self, slot_id: int) -> SlotRecord | None:
        return next((s for s in self.slots if s.id == slot_id), None)

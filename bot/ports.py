"""The interfaces the core needs. Adapters in ``integrations/`` implement them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.identity import ChatProfile, Member, Recipient, SentMessage, TeamRef, UserRef
from bot.messages import Message
from bot.records import (
    ClaimedMessage,
    ConnectionCheck,
    ConnectionRecord,
    IncidentRecord,
    LinkRecord,
    NewReport,
    OutboxItem,
    OutboxState,
    ProposalRecord,
    SyncFacts,
    UserRecord,
)

# --- calendar ---------------------------------------------------------------------


@dataclass(frozen=True)
class LinkedProfile:
    """The calendar profile an authorization linked (Cronofy ``linking_profile``)."""

    provider_name: str
    profile_id: str
    profile_name: str
    provider_service: str | None = None


@dataclass(frozen=True)
class TokenSet:
    """Tokens from a code exchange or a refresh. ``sub`` only comes with a code exchange."""

    access_token: str
    refresh_token: str
    expires_at: datetime
    scope: str = ""
    sub: str | None = None
    linking_profile: LinkedProfile | None = None

    def __repr__(self) -> str:  # tokens must never reach a log through a repr
        return f"TokenSet(sub={self.sub!r}, expires_at={self.expires_at.isoformat()})"


@dataclass(frozen=True)
class CalendarProfile:
    provider_name: str
    provider_service: str | None
    profile_id: str
    profile_name: str
    connected: bool
    initial_sync_required: bool = False
    relink_url: str | None = None


@dataclass(frozen=True)
class UserInfo:
    sub: str
    email: str | None = None
    name: str | None = None
    zoneinfo: str | None = None
    profiles: tuple[CalendarProfile, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class CalendarInfo:
    calendar_id: str
    calendar_name: str
    profile_id: str
    profile_name: str
    provider_name: str
    readonly: bool = False
    deleted: bool = False
    primary: bool = False


class CalendarPort(Protocol):
    """What calbot needs from Cronofy (real API or the built-in sandbox)."""

    def authorize_url(self, *, redirect_uri: str, state: str) -> str: ...

    async def exchange_code(self, *, code: str, redirect_uri: str) -> TokenSet: ...

    async def refresh(self, refresh_token: str) -> TokenSet: ...

    async def revoke(self, token: str) -> None: ...

    async def userinfo(self, access_token: str) -> UserInfo: ...

    async def profiles(self, access_token: str) -> list[CalendarProfile]: ...

    async def calendars(self, access_token: str) -> list[CalendarInfo]: ...

    async def create_channel(self, access_token: str, callback_url: str) -> dict[str, Any]: ...

    async def availability(self, body: dict[str, Any]) -> dict[str, Any]: ...

    async def upsert_event(
        self, access_token: str, calendar_id: str, event: dict[str, Any]
    ) -> None: ...

    async def delete_event(self, access_token: str, calendar_id: str, event_id: str) -> None: ...

    def verify_notification(self, body: bytes, header_value: str | None) -> bool: ...


# --- chat -------------------------------------------------------------------------


class ChatPort(Protocol):
    """One chat platform. The core talks to every platform through this."""

    platform: str

    async def send_dm(self, recipient: Recipient, message: Message) -> SentMessage: ...

    async def update(self, sent: SentMessage, message: Message) -> None: ...

    async def profile(self, user: UserRef) -> ChatProfile: ...

    async def members(
        self, workspace_id: str, team: TeamRef, *, on_behalf_of: Recipient | None = None
    ) -> list[Member]:
        """Everyone on the team, one paginated roster fetch; bots and deactivated included.

        `on_behalf_of` is who the roster is read for when no request of theirs is being
        served (a scheduled job): their stored address tells an adapter where their
        workspace is served (Teams' regional connector)."""
        ...


class KeyedSender(Protocol):
    """Optional for a ChatPort: send with an idempotency key, and find a message sent with it.

    Lets the outbox resolve a send that was in flight when a process died, so a restart
    never delivers the same message twice.
    """

    async def send_dm_keyed(
        self, recipient: Recipient, message: Message, key: str, in_doubt: bool
    ) -> SentMessage: ...


class ChannelPoster(Protocol):
    """Optional for a ChatPort: post a message in a channel (consent alerts to a channel)."""

    async def post_to_channel(
        self, workspace_id: str, channel: str, message: Message
    ) -> SentMessage: ...


# --- time -------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime: ...


# --- state signing ----------------------------------------------------------------


class Signer(Protocol):
    """Authenticated, expiring tokens for OAuth `state` (tamper-proof, opaque)."""

    def sign(self, payload: str) -> str: ...

    def verify(self, token: str, max_age_seconds: int) -> str | None: ...


# --- storage ----------------------------------------------------------------------


@dataclass(frozen=True)
class NewConnection:
    """What a successful authorization leaves us to store."""

    tokens: TokenSet
    cronofy_sub: str
    provider_name: str
    provider_service: str | None
    profile_id: str | None
    profile_name: str


class Store(Protocol):
    """Persistence the core needs. Each method is one transaction."""

    # users
    async def upsert_user(
        self,
        user: UserRef,
        profile: ChatProfile | None = None,
        address: dict[str, object] | None = None,
    ) -> UserRecord: ...

    async def get_user(self, user_id: int) -> UserRecord | None: ...

    async def find_user(self, user: UserRef) -> UserRecord | None: ...

    # connections
    async def get_connection(self, user_id: int) -> ConnectionRecord | None: ...

    async def connection_tokens(self, user_id: int) -> TokenSet | None: ...

    async def delete_connection(self, user_id: int, outbox: list[OutboxItem]) -> bool: ...

    # connect links
    async def create_link(
        self, user_id: int, token_hash: str, expires_at: datetime, outbox: list[OutboxItem]
    ) -> LinkRecord: ...

    async def find_link(self, token_hash: str) -> LinkRecord | None: ...

    async def get_link(self, link_id: int) -> LinkRecord | None: ...

    async def click_link(self, link_id: int, nonce: str, now: datetime) -> None: ...

    async def complete_link(
        self,
        link_id: int,
        nonce: str,
        connection: NewConnection,
        now: datetime,
        outbox: list[OutboxItem],
    ) -> bool: ...

    async def fail_link(
        self, link_id: int, nonce: str, reason: str, now: datetime, outbox: list[OutboxItem]
    ) -> bool: ...

    # outbox
    async def enqueue(self, items: list[OutboxItem]) -> None: ...

    async def claim_due(
        self, now: datetime, limit: int, lease_seconds: float
    ) -> list[ClaimedMessage]: ...

    async def renew_claim(self, message_id: int, held_until: datetime, until: datetime) -> bool: ...

    async def outbox_state(self, key: str) -> OutboxState | None: ...

    async def mark_sent(self, message_id: int, ref: dict[str, object], now: datetime) -> None: ...

    async def mark_retry(self, message_id: int, error: str, next_attempt_at: datetime) -> None: ...

    async def mark_dead(self, message_id: int, error: str) -> None: ...

    async def next_due(self) -> datetime | None: ...

    async def guard_holds(self, guard: str) -> bool: ...

    async def newer_edit_sent(self, edit_of: str, message_id: int) -> bool: ...

    async def mark_skipped(self, message_id: int, reason: str) -> None: ...

    async def batch_counts(self, batch: str) -> dict[str, int]: ...

    async def existing_keys(self, keys: list[str]) -> set[str]: ...

    # reports
    async def sync_facts(
        self, platform: str, workspace_id: str, user_ids: list[str]
    ) -> dict[str, SyncFacts]: ...

    async def connection_counts(self, platform: str, workspace_id: str) -> dict[str, int]: ...

    async def save_report(
        self, requester: UserRecord, team: str, label: str, message_key: str
    ) -> None: ...

    async def claim_reports_to_refresh(
        self, user_id: int, *, since: datetime, refreshed_before: datetime, limit: int = 5
    ) -> list[tuple[UserRecord, str, str]]: ...

    async def upsert_members(
        self, platform: str, workspace_id: str, members: list[tuple[str, ChatProfile, Any]]
    ) -> dict[str, UserRecord]: ...

    # connection health
    async def claim_connections_for_check(
        self, now: datetime, checked_before: datetime, limit: int, lease_seconds: float
    ) -> list[ConnectionCheck]: ...

    async def store_tokens(self, connection_id: int, tokens: TokenSet) -> None: ...

    async def set_connection_state(
        self,
        connection_id: int,
        state: str,
        *,
        relink_url: str | None = None,
        error: str | None = None,
        outbox: list[OutboxItem] | None = None,
    ) -> bool: ...

    async def finish_check(self, connection_id: int, now: datetime) -> None: ...

    async def mark_check_due(self, connection_id: int) -> None: ...

    # consent incidents
    async def record_report(
        self, report: NewReport, *, group: tuple[str, str, str, str] | None
    ) -> tuple[int | None, bool]: ...

    async def get_incident(self, incident_id: int) -> IncidentRecord | None: ...

    async def set_incident_state(
        self, incident_id: int, state: str, *, by: str | None = None, expect: str | None = None
    ) -> bool: ...

    async def live_incidents_for_user(self, user_id: int) -> list[int]: ...

    async def open_incident_count(self) -> int: ...

    async def workspace_admins(self, platform: str, workspace_id: str) -> list[UserRecord]: ...

    async def users_by_ids_or_emails(
        self, platform: str, workspace_id: str, keys: frozenset[str]
    ) -> list[UserRecord]: ...

    async def workspace_settings(self, platform: str, workspace_id: str) -> dict[str, Any]: ...

    async def all_workspace_settings(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(platform, workspace id, settings) of every workspace with any setting."""
        ...

    async def update_workspace_settings(
        self, platform: str, workspace_id: str, patch: dict[str, Any]
    ) -> None: ...

    async def merge_workspace_setting(
        self, platform: str, workspace_id: str, key: str, fields: dict[str, Any]
    ) -> bool: ...

    async def anyone_connected_in_domain(
        self, platform: str, workspace_id: str, domain: str
    ) -> bool: ...

    async def claim_stalled_links(
        self,
        now: datetime,
        clicked_before: datetime,
        limit: int = 100,
        *,
        follow_up: str | None = None,
    ) -> list[LinkRecord]:
        """Claim links opened but never finished; with `follow_up` (a message payload),
        queue the edit of each one's DM to it in the same transaction."""
        ...

    async def awaiting_answer(self, user_id: int, since: datetime) -> int | None: ...

    # proposals
    async def create_proposal(
        self,
        *,
        coordinator_id: int,
        platform: str,
        workspace_id: str,
        candidate_name: str,
        candidate_email: str | None,
        title: str,
        request: dict[str, Any],
        participants: list[tuple[int, str, int]],
        state: str,
        expires_at: datetime,
    ) -> int: ...

    async def get_proposal(self, proposal_id: int) -> ProposalRecord | None: ...

    async def replace_slots(
        self,
        proposal_id: int,
        slots: list[tuple[datetime, datetime]],
        *,
        state: str = "open",
        expires_at: datetime | None = None,
    ) -> bool: ...

    async def set_proposal_state(
        self, proposal_id: int, state: str, *, expect: tuple[str, ...] = ()
    ) -> bool: ...

    async def record_response(self, slot_id: int, participant_id: int, answer: str) -> bool: ...

    async def set_participant_state(self, participant_id: int, state: str) -> bool: ...

    async def add_participant(
        self, proposal_id: int, user_id: int, role: str, position: int
    ) -> None: ...

    async def start_booking(self, proposal_id: int, slot_id: int) -> bool: ...

    async def abandon_booking(self, proposal_id: int, slot_id: int) -> None: ...

    async def finish_booking(self, proposal_id: int, slot_id: int) -> None: ...

    async def cancel_booking(self, proposal_id: int) -> None: ...

    async def expire_proposals(self, now: datetime) -> list[int]: ...

    async def unfinished_bookings(self, older_than: datetime) -> list[int]: ...

    async def set_channel(self, connection_id: int, channel_id: str, key_hash: str) -> None: ...

    async def connection_for_channel(self, key_hash: str) -> ConnectionCheck | None: ...

    # inbound dedup
    async def first_time(self, platform: str, event_id: str, now: datetime) -> bool: ...


# --- consent knowledge (implemented by integrations/entra) -------------------------


@dataclass(frozen=True)
class Evidence:
    """What could be read from text a user pasted from Microsoft's error page."""

    codes: tuple[str, ...] = ()
    primary_code: str | None = None
    request_id: str | None = None
    correlation_id: str | None = None
    timestamp: datetime | None = None
    message: str | None = None

    @property
    def found_anything(self) -> bool:
        return bool(self.codes or self.correlation_id or self.request_id or self.message)


@dataclass(frozen=True)
class Diagnosis:
    failure_class: str
    title: str
    who_acts: str  # "user" | "tenant_admin" | "nobody"
    consent_problem: bool
    confidence: str  # "high" | "medium" | "low"
    evidence: tuple[str, ...] = ()
    code: str | None = None
    ambiguous: bool = False


@dataclass(frozen=True)
class Remedy:
    """The admin's instructions for one failure class, in calbot's own words."""

    title: str
    diagnosis: str
    cause: str
    steps: tuple[tuple[str, str | None], ...]
    verify: tuple[str, ...]
    mistakes: tuple[str, ...]
    options: tuple[tuple[str, str, str], ...]  # (letter, title, summary)
    if_still_failing: tuple[str, ...]
    tell_user: str
    admin_consent_url: str


@dataclass(frozen=True)
class FailedAttempt:
    user_email: str
    at: datetime | None = None
    code: str | None = None
    correlation_id: str | None = None
    request_id: str | None = None


class ConsentAdvisor(Protocol):
    def parse(self, text: str) -> Evidence: ...

    def diagnose(
        self,
        *,
        text: str | None = None,
        oauth_error: str | None = None,
        error_description: str | None = None,
        answer: str | None = None,
        stalled: bool = False,
    ) -> Diagnosis: ...

    def remedy(
        self, failure_class: str, *, tenant: str | None, users: tuple[str, ...]
    ) -> Remedy: ...

    def admin_consent_url(self, tenant: str | None) -> str: ...

    def consent_options(self) -> tuple[tuple[str, str, str], ...]: ...

    def support_checklist(
        self,
        *,
        tenant_domain: str | None,
        tenant_id: str | None,
        attempts: list[FailedAttempt],
        anyone_connected: bool | None,
        timezone: str | None,
        failure_class: str | None,
        consent_option: str | None,
    ) -> str: ...


@dataclass(frozen=True)
class Tenant:
    tenant: str
    domain: str
    resolved: bool


class TenantDirectory(Protocol):
    async def lookup(self, domain_or_email: str) -> Tenant: ...

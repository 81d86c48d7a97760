"""In-memory state of the Cronofy sandbox and its Python control API.

Everything runs on one event loop and no method awaits half-way through a change, so no
locks are needed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web

from integrations.cronofy.sandbox import availability, times
from integrations.cronofy.sandbox.availability_query import Span, parse_query
from integrations.cronofy.sandbox.event_body import EventInput
from integrations.cronofy.sandbox.models import (
    BLOCKING_STATUSES,
    PROVIDERS,
    AccessToken,
    AuthCode,
    Authorization,
    Channel,
    Delivery,
    RequestRecord,
    SandboxCalendar,
    SandboxEvent,
    SandboxUser,
    stamp,
)
from integrations.cronofy.sandbox.notify import Notifier

CODE_TTL = timedelta(minutes=10)


class OAuthError(Exception):
    """An RFC 6749 error answer from the token endpoints."""

    def __init__(self, error: str, status: int = 400, description: str | None = None) -> None:
        self.error = error
        self.status = status
        self.description = description
        super().__init__(error)

    def body(self) -> dict[str, str]:
        data = {"error": self.error}
        if self.description:
            data["error_description"] = self.description
        return data


@dataclass
class Faults:
    fail_next: int = 0
    fail_status: int = 503
    retry_after: float | None = None
    latency_ms: int = 0
    # (email or None for anyone, OAuth error) consumed by the next matching refresh.
    refresh: list[tuple[str | None, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "fail_next": self.fail_next,
            "status": self.fail_status,
            "retry_after": self.retry_after,
            "latency_ms": self.latency_ms,
            "refresh": [{"email": email, "error": error} for email, error in self.refresh],
        }


# Recognisable prefixes let the test suite prove no token ever reaches a log line.
ACCESS_PREFIX = "sbxat_"
REFRESH_PREFIX = "sbxrt_"


def _token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(24)


def _id(prefix: str) -> str:
    return prefix + secrets.token_hex(10)


def _norm(email: str) -> str:
    return email.strip().lower()


class SandboxState:
    """Users, OAuth grants, channels, injected faults and the request log."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.access_token_ttl = 3600
        self.notifier = Notifier(client_secret)
        self._clear()

    def _clear(self) -> None:
        self._users: dict[str, SandboxUser] = {}
        self._codes: dict[str, AuthCode] = {}
        self._auths: dict[str, Authorization] = {}
        self._refresh_index: dict[str, str] = {}
        self._access: dict[str, AccessToken] = {}
        self._channels: dict[str, Channel] = {}
        self.faults = Faults()
        # Email or "@domain" → outcome name, applied instead of "approve" (consent errors).
        self.forced_outcomes: dict[str, str] = {}
        self.requests: list[RequestRecord] = []
        self.notifications: list[Delivery] = []
        # Page token → (sub, items still to read, page number, total pages) of a free/busy answer.
        self._pages: dict[str, tuple[str, list[dict[str, Any]], int, int]] = {}
        self.free_busy_page_size = 100

    def reset(self) -> None:
        self._clear()

    async def aclose(self) -> None:
        await self.notifier.aclose()

    # --- users ----------------------------------------------------------------------

    def add_user(
        self,
        email: str,
        *,
        name: str | None = None,
        zoneinfo: str = "Europe/London",
        provider: str = "office365",
        calendars: list[str | dict[str, Any]] | None = None,
        connected: bool = True,
        initial_sync_required: bool = False,
    ) -> SandboxUser:
        key = _norm(email)
        if not key or "@" not in key:
            raise ValueError("email must be an e-mail address")
        if key in self._users:
            raise ValueError(f"user {key} already exists")
        if provider not in PROVIDERS:
            raise ValueError(f"provider must be one of {sorted(PROVIDERS)}")
        user = SandboxUser(
            email=key,
            name=name if name is not None else key.split("@")[0].replace(".", " ").title(),
            zoneinfo=zoneinfo,
            provider=provider,
            sub=_id("acc_"),
            profile_id=_id("pro_"),
            connected=connected,
            initial_sync_required=initial_sync_required,
            calendars=self._make_calendars(calendars),
        )
        self._users[key] = user
        return user

    @staticmethod
    def _make_calendars(specs: list[str | dict[str, Any]] | None) -> list[SandboxCalendar]:
        if not specs:
            return [SandboxCalendar(_id("cal_"), "Calendar", primary=True)]
        result: list[SandboxCalendar] = []
        for index, spec in enumerate(specs):
            if isinstance(spec, str):
                spec = {"calendar_name": spec}
            if not isinstance(spec, dict):
                raise ValueError("calendars must be names or objects")
            result.append(
                SandboxCalendar(
                    calendar_id=str(spec.get("calendar_id") or _id("cal_")),
                    calendar_name=str(spec.get("calendar_name") or spec.get("name") or "Calendar"),
                    primary=bool(spec.get("primary", index == 0)),
                    readonly=bool(spec.get("readonly", False)),
                    deleted=bool(spec.get("deleted", False)),
                )
            )
        return result

    def ensure_user(self, email: str, provider: str = "office365") -> SandboxUser:
        return self.user(email) or self.add_user(email, provider=provider)

    def user(self, email: str) -> SandboxUser | None:
        return self._users.get(_norm(email))

    def user_by_sub(self, sub: str) -> SandboxUser | None:
        return next((u for u in self._users.values() if u.sub == sub), None)

    def users(self) -> list[SandboxUser]:
        return list(self._users.values())

    def _require(self, email: str) -> SandboxUser:
        user = self.user(email)
        if user is None:
            raise KeyError(email)
        return user

    async def disconnect(self, email: str) -> list[Delivery]:
        """Mark the profile disconnected and push ``profile_disconnected`` to its channels."""
        user = self._require(email)
        user.connected = False
        return await self.notify(user.sub, "profile_disconnected")

    def reconnect(self, email: str) -> SandboxUser:
        user = self._require(email)
        user.connected = True
        return user

    async def notify(self, sub: str, notification_type: str, **extra: Any) -> list[Delivery]:
        """Send a signed push notification to every channel of the account."""
        channels = [
            c for c in self._channels.values() if c.sub == sub and c.accepts(notification_type)
        ]
        deliveries = await self.notifier.send(channels, {"type": notification_type, **extra})
        self.notifications.extend(deliveries)
        return deliveries

    # --- faults ---------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 503, retry_after: float | None = None) -> None:
        """The next ``count`` API/token requests answer ``status`` (429 or 5xx)."""
        self.faults.fail_next = count
        self.faults.fail_status = status
        self.faults.retry_after = retry_after

    def fail_refresh(self, email: str | None = None, error: str = "invalid_grant") -> None:
        """The next refresh (for ``email``, or anyone) fails; its authorization dies with it."""
        self.faults.refresh.append((_norm(email) if email else None, error))

    def set_latency(self, ms: int) -> None:
        self.faults.latency_ms = max(0, ms)

    def clear_faults(self) -> None:
        self.faults = Faults()

    def take_failure(self) -> tuple[int, float | None] | None:
        if self.faults.fail_next <= 0:
            return None
        self.faults.fail_next -= 1
        return self.faults.fail_status, self.faults.retry_after

    def force_outcome(self, match: str, outcome: str) -> None:
        """Answer authorizations by ``match`` (an e-mail or ``@domain``) with ``outcome``."""
        self.forced_outcomes[_norm(match)] = outcome

    def forced_outcome_for(self, email: str) -> str | None:
        key = _norm(email)
        domain = "@" + key.rpartition("@")[2]
        return self.forced_outcomes.get(key) or self.forced_outcomes.get(domain)

    def request_count(self, path: str | None = None, method: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (path is None or r.path == path) and (method is None or r.method == method)
        )

    # --- OAuth ----------------------------------------------------------------------

    def check_client(self, client_id: str | None, client_secret: str | None) -> None:
        ok_id = secrets.compare_digest((client_id or "").encode(), self.client_id.encode())
        ok_secret = secrets.compare_digest(
            (client_secret or "").encode(), self.client_secret.encode()
        )
        if not (ok_id and ok_secret):
            raise OAuthError("invalid_client", status=401)

    def issue_code(self, *, user: SandboxUser, redirect_uri: str, scope: str) -> str:
        code = secrets.token_hex(16)  # Cronofy codes are 32 ASCII characters
        self._codes[code] = AuthCode(
            code=code,
            email=user.email,
            redirect_uri=redirect_uri,
            scope=scope,
            expires_at=self.clock() + CODE_TTL,
        )
        return code

    def redeem_code(self, code: str, redirect_uri: str) -> tuple[Authorization, AccessToken]:
        grant = self._codes.pop(code, None)  # single use, even when the checks below fail
        if grant is None or grant.expires_at <= self.clock():
            raise OAuthError("invalid_grant")
        if grant.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant", description="redirect_uri does not match")
        user = self._require(grant.email)
        auth = Authorization(
            auth_id=_id("auth_"),
            sub=user.sub,
            email=user.email,
            scope=grant.scope,
            refresh_token=_token(REFRESH_PREFIX),
        )
        self._auths[auth.auth_id] = auth
        self._refresh_index[auth.refresh_token] = auth.auth_id
        return auth, self._issue_access(auth)

    def refresh(self, refresh_token: str) -> tuple[Authorization, AccessToken]:
        auth_id = self._refresh_index.get(refresh_token)
        auth = self._auths.get(auth_id) if auth_id else None
        if auth is None or auth.revoked:
            raise OAuthError("invalid_grant")
        fault = self._take_refresh_fault(auth.email)
        if fault is not None:
            self._revoke(auth)
            raise OAuthError(fault)
        # Rotation: the old refresh token dies, so a client that fails to store the new one
        # finds out at its next refresh, as it would with Cronofy.
        del self._refresh_index[refresh_token]
        auth.refresh_token = _token(REFRESH_PREFIX)
        self._refresh_index[auth.refresh_token] = auth.auth_id
        return auth, self._issue_access(auth)

    def _take_refresh_fault(self, email: str) -> str | None:
        for index, (match, error) in enumerate(self.faults.refresh):
            if match is None or match == email:
                del self.faults.refresh[index]
                return error
        return None

    def _issue_access(self, auth: Authorization) -> AccessToken:
        access = AccessToken(
            token=_token(ACCESS_PREFIX),
            auth_id=auth.auth_id,
            expires_at=self.clock() + timedelta(seconds=self.access_token_ttl),
        )
        self._access[access.token] = access
        return access

    def revoke(self, *, token: str | None = None, sub: str | None = None) -> None:
        """Revoke by access/refresh token, or every authorization of ``sub``. Unknown: no-op."""
        if token:
            auth_id = self._refresh_index.get(token)
            if auth_id is None and token in self._access:
                auth_id = self._access[token].auth_id
            if auth_id is not None:
                self._revoke(self._auths[auth_id])
            return
        for auth in self._auths.values():
            if auth.sub == sub:
                self._revoke(auth)

    def _revoke(self, auth: Authorization) -> None:
        auth.revoked = True
        self._refresh_index.pop(auth.refresh_token, None)

    def expire_access_tokens(self, email: str | None = None) -> None:
        past = self.clock() - timedelta(seconds=1)
        for access in self._access.values():
            if email is None or self._auths[access.auth_id].email == _norm(email):
                access.expires_at = past

    def authenticate(self, access_token: str) -> tuple[SandboxUser, Authorization] | None:
        access = self._access.get(access_token)
        if access is None or access.expires_at <= self.clock():
            return None
        auth = self._auths[access.auth_id]
        user = self.user(auth.email)
        if auth.revoked or user is None:
            return None
        return user, auth

    def authorizations(self, email: str) -> list[Authorization]:
        return [a for a in self._auths.values() if a.email == _norm(email)]

    # --- channels -------------------------------------------------------------------

    def create_channel(self, sub: str, callback_url: str, filters: dict[str, Any]) -> Channel:
        for channel in self._channels.values():
            if (channel.sub, channel.callback_url, channel.filters) == (sub, callback_url, filters):
                return channel
        channel = Channel(_id("chn_"), sub, callback_url, filters)
        self._channels[channel.channel_id] = channel
        return channel

    def channels(self, sub: str | None = None) -> list[Channel]:
        return [c for c in self._channels.values() if sub is None or c.sub == sub]

    def delete_channel(self, sub: str, channel_id: str) -> bool:
        channel = self._channels.get(channel_id)
        if channel is None or channel.sub != sub:
            return False
        del self._channels[channel_id]
        return True

    # --- events ---------------------------------------------------------------------

    def add_busy(
        self,
        email: str,
        start: datetime | date,
        end: datetime | date,
        summary: str = "Busy",
        *,
        calendar_id: str | None = None,
        status: str = "busy",
    ) -> SandboxEvent:
        """Seed an event made outside calbot (an external event) in the user's calendar.

        Dates make an all-day event in the user's zone; ``status`` is its free/busy status
        (``busy``, ``tentative`` or ``free``).
        """
        user = self._require(email)
        if status not in BLOCKING_STATUSES | {"free"}:
            raise ValueError("status must be busy, tentative or free")
        calendar = user.calendar(calendar_id) if calendar_id else user.primary_calendar()
        if calendar is None:
            raise ValueError(f"{user.email} has no calendar {calendar_id}")
        if isinstance(start, datetime) and isinstance(end, datetime):
            if start.tzinfo is None or end.tzinfo is None:
                raise ValueError("start and end need a time zone")
            begin, finish, all_day = start, end, False
        elif not isinstance(start, datetime) and not isinstance(end, datetime):
            zone = times.zone(user.zoneinfo) or times.zone("Etc/UTC")
            assert zone is not None
            begin, finish = times.local_midnight(start, zone), times.local_midnight(end, zone)
            all_day = True
        else:
            raise ValueError("start and end must both be datetimes or both be dates")
        if finish <= begin:
            raise ValueError("end must be after start")
        event = SandboxEvent(
            event_id=_id("evt_external_"),
            calendar_id=calendar.calendar_id,
            summary=summary,
            start=begin,
            end=finish,
            free_busy_status=status,
            all_day=all_day,
        )
        user.events[(event.calendar_id, event.event_id)] = event
        return event

    def events(self, email: str, *, include_managed: bool = True) -> list[SandboxEvent]:
        """The user's events, earliest first."""
        user = self._require(email)
        found = [e for e in user.events.values() if include_managed or not e.created_by_app]
        return sorted(found, key=lambda e: (e.start, e.end, e.event_id))

    def clear_events(self, email: str) -> None:
        self._require(email).events.clear()

    def upsert_event(self, user: SandboxUser, calendar_id: str, data: EventInput) -> SandboxEvent:
        """Create or update the app's event ``(calendar_id, event_id)``: never a duplicate."""
        key = (calendar_id, data.event_id)
        existing = user.events.get(key)
        # "invite" adds and "reject" removes, so resending the same body changes nothing.
        attendees = dict(existing.attendees) if existing else {}
        attendees.update(data.invite)
        for email in data.reject:
            attendees.pop(email, None)
        event = SandboxEvent(
            event_id=data.event_id,
            calendar_id=calendar_id,
            summary=data.summary,
            start=data.start,
            end=data.end,
            created_by_app=True,
            attendees=attendees,
            description=data.description,
            tzid=data.tzid,
            free_busy_status="free" if data.transparent else "busy",
            all_day=data.all_day,
        )
        user.events[key] = event
        return event

    def delete_event(self, user: SandboxUser, calendar_id: str, event_id: str) -> bool:
        """Delete the app's event; False when there was none (still a 202 to the caller)."""
        event = user.events.get((calendar_id, event_id))
        if event is None or not event.created_by_app:
            return False
        del user.events[(calendar_id, event_id)]
        return True

    def blocking_spans(self, user: SandboxUser, calendar_ids: tuple[str, ...] | None) -> list[Span]:
        """Busy time for availability: managed events count too (a booked interview
        blocks the next search), events in deleted calendars do not."""
        live = {c.calendar_id for c in user.calendars if not c.deleted}
        if calendar_ids is not None:
            live &= set(calendar_ids)
        return [
            (e.start, e.end) for e in user.events.values() if e.blocking and e.calendar_id in live
        ]

    # --- availability and free/busy -------------------------------------------------

    def check_api_key(self, key: str) -> bool:
        return secrets.compare_digest(key.encode(), self.client_secret.encode())

    def availability(self, body: Any) -> dict[str, Any]:
        """Answer a ``POST /v1/availability`` body; raises Unprocessable (422)."""
        by_sub = {u.sub: u for u in self._users.values()}
        query = parse_query(body, lambda sub: sub in by_sub)
        busy: dict[str, list[Span]] = {}
        for group in query.groups:
            for member in group.members:
                # Keyed by sub; a member listed twice with different calendar_ids gets
                # the union, the conservative reading.
                busy.setdefault(member.sub, []).extend(
                    self.blocking_spans(by_sub[member.sub], member.calendar_ids)
                )
        found = availability.shape(query, availability.find(query, busy))
        key = "available_periods" if query.response_format == "periods" else "available_slots"
        answer: dict[str, Any] = {
            key: [
                {
                    "start": stamp(f.start),
                    "end": stamp(f.end),
                    "participants": [{"sub": sub} for sub in f.participants],
                }
                for f in found
            ]
        }
        if query.include_member_statuses:
            answer["member_statuses"] = [
                {"sub": sub, "sync_status": by_sub[sub].sync_status} for sub in query.subs
            ]
        return answer

    def free_busy(
        self,
        user: SandboxUser,
        start: datetime,
        end: datetime,
        *,
        include_managed: bool,
        calendar_ids: list[str] | None,
        base_url: str,
    ) -> dict[str, Any]:
        """The first page of the user's free/busy in ``[start, end)``; later pages are
        read with :meth:`free_busy_page`."""
        wanted = {c.calendar_id for c in user.calendars if not c.deleted}
        if calendar_ids:
            wanted &= set(calendar_ids)
        items = [
            e.free_busy_json()
            for e in self.events(user.email, include_managed=include_managed)
            if e.calendar_id in wanted and e.start < end and e.end > start
        ]
        size = max(1, self.free_busy_page_size)
        total = max(1, -(-len(items) // size))
        return self._page(user.sub, items, 1, total, size, base_url)

    def free_busy_page(self, sub: str, token: str, base_url: str) -> dict[str, Any] | None:
        """A later page: only for the account it was made for, and only once."""
        found = self._pages.get(token)
        if found is None or found[0] != sub:
            return None
        del self._pages[token]
        _, items, current, total = found
        return self._page(sub, items, current, total, max(1, self.free_busy_page_size), base_url)

    def _page(
        self, sub: str, items: list[dict[str, Any]], current: int, total: int, size: int, base: str
    ) -> dict[str, Any]:
        pages: dict[str, Any] = {"current": current, "total": total}
        if current < total:
            token = secrets.token_urlsafe(16)
            self._pages[token] = (sub, items[size:], current + 1, total)
            pages["next_page"] = f"{base}/v1/free_busy/pages/{token}"
        return {"pages": pages, "free_busy": items[:size]}


STATE_KEY = web.AppKey("cronofy_sandbox_state", SandboxState)

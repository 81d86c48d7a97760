"""Connection health: refresh tokens, notice revoked or disconnected calendars, tell people.

Runs as a scheduled job on every instance; connections are claimed with a lease so no
two instances check the same one at once. Cronofy push notifications make a connection
due at once instead of waiting for the next round.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Literal

from bot.cards import new_link_button
from bot.errors import CalendarAuthError, CalendarError, CalendarUnavailable, InvalidGrant
from bot.messages import Actions, Button, Context, Message, Section
from bot.ports import CalendarPort, Clock, Store, TokenSet
from bot.records import ConnectionCheck, OutboxItem

log = logging.getLogger(__name__)

REFRESH_AHEAD = timedelta(minutes=10)
PROFILE_EVENTS = frozenset({"profile_disconnected", "profile_initial_sync_required"})

NotificationResult = Literal["accepted", "refused", "unknown"]


def channel_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class HealthService:
    def __init__(
        self,
        *,
        store: Store,
        calendar: CalendarPort,
        clock: Clock,
        public_base_url: str,
        interval: timedelta = timedelta(hours=1),
        wake_outbox: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._calendar = calendar
        self._clock = clock
        self._base = public_base_url.rstrip("/")
        self._interval = interval
        self._wake = wake_outbox or (lambda: None)
        self._pending: set[asyncio.Task[None]] = set()
        # Set by the composition root: a revoked grant may be a tenant policy change.
        self.on_revoked: Callable[[ConnectionCheck], Awaitable[None]] | None = None

    async def run_once(self, limit: int = 200) -> int:
        """Check every connection not checked within the interval. Returns how many."""
        checked = 0
        while True:
            now = self._clock.now()
            batch = await self._store.claim_connections_for_check(
                now, now - self._interval, limit, lease_seconds=300
            )
            if not batch:
                return checked
            for check in batch:
                await self.check(check)
            checked += len(batch)

    async def check(self, check: ConnectionCheck) -> None:
        conn = check.connection
        try:
            access = await self._fresh_access_token(check)
            try:
                info = await self._calendar.userinfo(access)
            except CalendarAuthError:
                access = await self._refresh(check)
                info = await self._calendar.userinfo(access)
            broken = next((p for p in info.profiles if not p.connected), None)
            if broken is not None:
                await self._set_state(check, "needs_relink", relink_url=broken.relink_url)
            elif conn.state != "connected":
                await self._store.set_connection_state(conn.id, "connected")
            if check.channel_id is None:
                await self.open_channel(conn.id, access)
        except InvalidGrant:
            await self._set_state(check, "revoked", error="invalid_grant")
        except CalendarUnavailable:
            log.info("health check of connection %s postponed: Cronofy unavailable", conn.id)
        except CalendarError as exc:
            log.warning("health check of connection %s failed: %s", conn.id, type(exc).__name__)
        finally:
            await self._store.finish_check(conn.id, self._clock.now())

    async def open_channel(self, connection_id: int, access_token: str) -> None:
        """One push channel per connection, with an unguessable key in its URL."""
        key = secrets.token_urlsafe(24)
        try:
            channel = await self._calendar.create_channel(
                access_token, f"{self._base}/webhooks/cronofy/{key}"
            )
        except CalendarError as exc:
            log.info("could not open a push channel: %s (health checks continue)", exc)
            return
        channel_id = str(channel.get("channel_id") or channel.get("id") or "")
        if channel_id:
            await self._store.set_channel(connection_id, channel_id, channel_key_hash(key))

    async def notification(
        self, key: str, body: bytes, signature: str | None, payload: dict[str, object] | None
    ) -> NotificationResult:
        """A Cronofy push: verified against the client secret before anything else."""
        if not self._calendar.verify_notification(body, signature):
            return "refused"
        notification = payload.get("notification") if isinstance(payload, dict) else None
        kind = str(notification.get("type", "")) if isinstance(notification, dict) else ""
        if kind not in PROFILE_EVENTS:
            # `change`, `verification` and the rest need nothing from us: answer at once,
            # without a database round trip (Cronofy sends hundreds a second at peak).
            return "accepted"
        check = await self._store.connection_for_channel(channel_key_hash(key))
        if check is None:
            return "unknown"
        # Durable first (the scheduled check picks it up if this process dies), then the
        # check itself after the answer, so Cronofy isn't kept waiting on a round trip.
        await self._store.mark_check_due(check.connection.id)
        task = asyncio.create_task(self.check(check))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return "accepted"

    async def settle(self) -> None:
        """Wait for checks started by notifications (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    # --- helpers ---------------------------------------------------------------------

    async def _fresh_access_token(self, check: ConnectionCheck) -> str:
        if check.connection.expires_at - self._clock.now() > REFRESH_AHEAD:
            return check.access_token
        return await self._refresh(check)

    async def _refresh(self, check: ConnectionCheck) -> str:
        tokens: TokenSet = await self._calendar.refresh(check.refresh_token)
        await self._store.store_tokens(check.connection.id, tokens)
        return tokens.access_token

    async def _set_state(
        self,
        check: ConnectionCheck,
        state: str,
        *,
        relink_url: str | None = None,
        error: str | None = None,
    ) -> None:
        conn, user = check.connection, check.user
        card = _revoked_card(conn.provider_label, conn.profile_name)
        if state == "needs_relink":
            card = _relink_card(conn.provider_label, conn.profile_name, relink_url)
        item = OutboxItem(
            # The conditional state change guarantees one DM per change; the time keeps the
            # key unique if the same state comes back after a repair.
            key=f"health:{conn.id}:{state}:{self._clock.now().isoformat()}",
            platform=user.ref.platform,
            payload_json=card.to_json(),
            recipient=user.recipient,
        )
        changed = await self._store.set_connection_state(
            conn.id, state, relink_url=relink_url, error=error, outbox=[item]
        )
        if changed:
            log.info("connection %s is now %s", conn.id, state)
            self._wake()
            if state == "revoked" and self.on_revoked is not None:
                await self.on_revoked(check)


def _revoked_card(provider: str, account: str) -> Message:
    text = f"Your calendar connection stopped working: {provider} ({account})"
    return Message(
        text=text,
        blocks=(
            Section(
                text=f"⚠️ **{text}**. Its access was revoked or has expired, so interviews "
                "can't be scheduled around your calendar until you reconnect."
            ),
            Actions(buttons=(new_link_button("Reconnect", primary=True),)),
        ),
    )


def _relink_card(provider: str, account: str, relink_url: str | None) -> Message:
    text = f"Your {provider} calendar ({account}) needs to be reconnected"
    button = (
        Button(label="Reconnect", action_id="health.relink", url=relink_url, style="primary")
        if relink_url
        else new_link_button("Reconnect", primary=True)
    )
    return Message(
        text=text,
        blocks=(
            Section(
                text=f"⚠️ **{text}**. Microsoft or Google stopped accepting the sign-in "
                "(a password change or an admin policy often does this)."
            ),
            Actions(buttons=(button,)),
            Context(text="It takes a minute: sign in again and calbot picks it up by itself."),
        ),
    )


async def open_channel_after_connect(health: HealthService, store: Store, user_id: int) -> None:
    """Right after a connect, so a disconnection is known at once, not at the next check."""
    conn = await store.get_connection(user_id)
    tokens = await store.connection_tokens(user_id)
    if conn is not None and tokens is not None:
        await health.open_channel(conn.id, tokens.access_token)

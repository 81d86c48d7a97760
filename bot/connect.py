"""The connect use case: personal link → Cronofy authorization → "Connected" in the same DM."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from bot import cards
from bot.consent_cards import follow_up_card
from bot.errors import CalendarError, CalendarUnavailable, InvalidGrant
from bot.identity import ChatProfile, TeamRef, UserRef
from bot.messages import Message, simple
from bot.ports import CalendarPort, Clock, NewConnection, Signer, Store, TokenSet
from bot.records import LinkRecord, OutboxItem, UserRecord, provider_label

log = logging.getLogger(__name__)

STATE_MAX_AGE = 3600  # seconds a user may spend on the Microsoft/Cronofy pages


def hash_token(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Actor:
    """Whoever sent a command or pressed a button."""

    user: UserRef
    profile: ChatProfile | None = None
    address: dict[str, object] | None = None
    # Where the request was made (a channel or group chat), the default team for reports.
    channel: TeamRef | None = None


@dataclass(frozen=True)
class OpenResult:
    kind: Literal["redirect", "unknown", "expired", "used"]
    url: str | None = None
    user: UserRecord | None = None


@dataclass(frozen=True)
class FinishResult:
    kind: Literal["connected", "denied", "failed", "forged", "used", "unavailable"]
    user: UserRecord | None = None
    provider: str = ""
    account: str = ""
    reason: str = ""


class ConnectFlow:
    def __init__(
        self,
        *,
        store: Store,
        calendar: CalendarPort,
        signer: Signer,
        clock: Clock,
        public_base_url: str,
        callback_url: str,
        link_ttl: timedelta = timedelta(days=7),
        wake_outbox: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._calendar = calendar
        self._signer = signer
        self._clock = clock
        self._base = public_base_url.rstrip("/")
        self._callback = callback_url
        self._ttl = link_ttl
        self._wake = wake_outbox or (lambda: None)
        # Set by the composition root: what else happens after a connect succeeds (push
        # channel, consent incidents) or is refused by the identity provider.
        self.after_connect: Callable[[int], Awaitable[None]] | None = None
        self.after_denied: (
            Callable[[UserRecord, LinkRecord, str | None, str | None], Awaitable[None]] | None
        ) = None

    # --- chat side -------------------------------------------------------------------

    async def request(self, actor: Actor) -> Message:
        """`/calendar connect`: DM a personal link (or say it is already connected)."""
        user = await self._store.upsert_user(actor.user, actor.profile, actor.address)
        connection = await self._store.get_connection(user.id)
        if connection is not None and connection.is_healthy:
            card = cards.already_connected_card(
                provider=connection.provider_label,
                account=connection.profile_name,
                since=cards.fmt_when(connection.connected_at, user.tz),
            )
            await self._dm(user, card, key=f"already:{user.id}:{secrets.token_hex(4)}")
            return simple("Your calendar is already connected. I've sent you the details in a DM.")
        await self.send_link(user)
        return simple("I've sent you a DM with your personal link to connect your calendar.")

    async def send_link(
        self,
        user: UserRecord,
        asked_by: str | None = None,
        *,
        key: str = "connect-dm:{link}",
        guard: str | None = None,
        batch: str | None = None,
        intro: str | None = None,
    ) -> LinkRecord:
        """Create a personal link and queue the DM that carries it (one transaction)."""
        token = secrets.token_urlsafe(32)
        expires = self._clock.now() + self._ttl
        card = cards.connect_link_card(
            f"{self._base}/connect/{token}",
            expires=cards.fmt_when(expires, user.tz),
            asked_by=asked_by,
            intro=intro,
        )
        item = OutboxItem(
            key=key,
            platform=user.ref.platform,
            payload_json=card.to_json(),
            recipient=user.recipient,
            guard=guard,
            batch=batch,
        )
        link = await self._store.create_link(user.id, hash_token(token), expires, [item])
        self._wake()
        return link

    async def disconnect(self, actor: Actor) -> Message:
        user = await self._store.upsert_user(actor.user, actor.profile, actor.address)
        connection = await self._store.get_connection(user.id)
        tokens = await self._store.connection_tokens(user.id)
        if connection is None or tokens is None:
            return simple("Your calendar isn't connected, so there is nothing to disconnect.")
        try:
            await self._calendar.revoke(tokens.refresh_token)
        except InvalidGrant:
            pass  # already revoked at Cronofy: deleting our copy is all that is left
        except CalendarUnavailable:
            return simple(
                "Cronofy isn't answering right now, so I couldn't revoke access. "
                "Nothing was changed: please try again in a few minutes."
            )
        await self._store.delete_connection(user.id, [])
        return cards.disconnected_card(connection.provider_label, connection.profile_name)

    # --- browser side ----------------------------------------------------------------

    async def open_link(self, token: str) -> OpenResult:
        """`GET /connect/{token}`: record the click and send the browser to Cronofy."""
        link = await self._store.find_link(hash_token(token))
        if link is None:
            return OpenResult("unknown")
        user = await self._store.get_user(link.user_id)
        if link.completed_at is not None:
            return OpenResult("used", user=user)
        if link.expires_at <= self._clock.now():
            return OpenResult("expired", user=user)
        nonce = secrets.token_urlsafe(16)
        await self._store.click_link(link.id, nonce, self._clock.now())
        state = self._signer.sign(f"{link.id}:{nonce}")
        url = self._calendar.authorize_url(redirect_uri=self._callback, state=state)
        return OpenResult("redirect", url=url, user=user)

    async def finish(
        self,
        *,
        state: str | None,
        code: str | None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> FinishResult:
        """`GET /oauth/cronofy/callback`: store the connection and edit the DM."""
        parsed = self._parse_state(state)
        if parsed is None:
            return FinishResult("forged")
        link_id, nonce = parsed
        link = await self._store.get_link(link_id)
        if link is None:
            return FinishResult("forged")
        user = await self._store.get_user(link.user_id)
        if link.completed_at is not None:
            return FinishResult("used", user=user)
        if link.state_nonce != nonce or user is None:
            return FinishResult("forged")
        if error or not code:
            reason = _describe_oauth_error(error, error_description)
            question = follow_up_card(f"Connecting didn't finish: {reason}")
            if await self._fail(link, user, nonce, reason, card=question):
                if self.after_denied is not None:
                    await self.after_denied(user, link, error, error_description)
            return FinishResult("denied", user=user, reason=reason)
        try:
            tokens = await self._calendar.exchange_code(code=code, redirect_uri=self._callback)
        except CalendarUnavailable:
            reason = "Cronofy didn't answer in time. Please try the link again in a few minutes."
            await self._fail(link, user, nonce, reason)
            return FinishResult("unavailable", user=user, reason=reason)
        except CalendarError as exc:
            log.warning("code exchange refused: %s", type(exc).__name__)
            reason = "Cronofy refused the sign-in (the code had expired or was already used)."
            if not await self._fail(link, user, nonce, reason) and await self._completed(link.id):
                return FinishResult("used", user=user)  # another load of this page won
            return FinishResult("failed", user=user, reason=reason)
        connection = await self._describe(tokens)
        now = self._clock.now()
        card = cards.connected_card(
            provider=provider_label(connection.provider_name, connection.provider_service),
            account=connection.profile_name,
            chat_name=user.display_name or user.ref.user_id,
            when=cards.fmt_when(now, user.tz),
        )
        update = self._edit(link, user, card, suffix="connected")
        if not await self._store.complete_link(link.id, nonce, connection, now, [update]):
            return await self._lost_race(link.id, user, tokens.refresh_token)
        self._wake()
        if self.after_connect is not None:
            try:
                await self.after_connect(user.id)
            except Exception:  # the health job opens the channel later if this fails
                log.exception("post-connect step failed")
        return FinishResult(
            "connected",
            user=user,
            provider=provider_label(connection.provider_name, connection.provider_service),
            account=connection.profile_name,
        )

    # --- helpers ---------------------------------------------------------------------

    def _parse_state(self, state: str | None) -> tuple[int, str] | None:
        if not state:
            return None
        payload = self._signer.verify(state, STATE_MAX_AGE)
        if payload is None or ":" not in payload:
            return None
        link_id, nonce = payload.split(":", 1)
        return (int(link_id), nonce) if link_id.isdigit() else None

    async def _describe(self, tokens: TokenSet) -> NewConnection:
        profile = tokens.linking_profile
        if profile is not None:
            return NewConnection(
                tokens=tokens,
                cronofy_sub=tokens.sub or "",
                provider_name=profile.provider_name,
                provider_service=profile.provider_service,
                profile_id=profile.profile_id,
                profile_name=profile.profile_name,
            )
        # No linking profile in the token response: ask userinfo which calendar it was.
        info = await self._calendar.userinfo(tokens.access_token)
        first = info.profiles[0] if info.profiles else None
        return NewConnection(
            tokens=tokens,
            cronofy_sub=tokens.sub or info.sub,
            provider_name=first.provider_name if first else "",
            provider_service=first.provider_service if first else None,
            profile_id=first.profile_id if first else None,
            profile_name=(first.profile_name if first else info.email) or "",
        )

    async def _lost_race(self, link_id: int, user: UserRecord, refresh_token: str) -> FinishResult:
        """Another load of the same callback (a double navigation, a prefetch) finished
        the link first: ours holds a grant nobody will use, so it is given back."""
        try:
            await self._calendar.revoke(refresh_token)
        except CalendarError as exc:
            log.warning("revoking an unused grant failed: %s", type(exc).__name__)
        if await self._completed(link_id):
            return FinishResult("used", user=user)
        reason = (
            "another sign-in with this link got there first, and this one connected nothing. "
            "If your calendar isn't connected, ask for a new link with /calendar connect."
        )
        return FinishResult("failed", user=user, reason=reason)

    async def _completed(self, link_id: int) -> bool:
        current = await self._store.get_link(link_id)
        return current is not None and current.completed_at is not None

    async def _fail(
        self,
        link: LinkRecord,
        user: UserRecord,
        nonce: str,
        reason: str,
        *,
        card: Message | None = None,
    ) -> bool:
        card = card or cards.connect_failed_card(reason)
        update = self._edit(link, user, card, suffix=f"failed:{nonce}")
        if await self._store.fail_link(link.id, nonce, reason, self._clock.now(), [update]):
            self._wake()
            return True
        return False

    def _edit(
        self, link: LinkRecord, user: UserRecord, card: Message, *, suffix: str
    ) -> OutboxItem:
        return OutboxItem(
            key=f"{link.message_key}:{suffix}",
            platform=user.ref.platform,
            payload_json=card.to_json(),
            recipient=user.recipient,
            edit_of=link.message_key,
        )

    async def _dm(self, user: UserRecord, card: Message, *, key: str) -> None:
        await self._store.enqueue(
            [
                OutboxItem(
                    key=key,
                    platform=user.ref.platform,
                    payload_json=card.to_json(),
                    recipient=user.recipient,
                )
            ]
        )
        self._wake()


def _describe_oauth_error(error: str | None, description: str | None) -> str:
    if error == "access_denied":
        return (
            "access was not granted. Either the sign-in was cancelled, or your organisation "
            "requires an administrator to approve Cronofy first."
        )
    if not error:
        return "the sign-in came back without an authorization code."
    detail = f" ({description[:200]})" if description else ""
    return f"the sign-in failed with “{error[:64]}”{detail}."

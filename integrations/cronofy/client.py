"""Async Cronofy client implementing ``bot.ports.CalendarPort``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from tenacity import RetryCallState, RetryError

from bot.errors import CalendarError, CalendarUnavailable
from bot.ports import CalendarInfo, CalendarProfile, TokenSet, UserInfo
from integrations.cronofy import push, retry, scheduling, urls, wire
from integrations.cronofy.scheduling import BusyPeriod
from integrations.cronofy.status import error_for

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A guard against an answer that pages forever; a real free/busy read is a few pages.
MAX_PAGES = 50


class CronofyClient:
    """One httpx connection pool per client; share a single instance per process."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        data_center: str | None = None,
        api_url: str | None = None,
        app_url: str | None = None,
        timeout: float = 10.0,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        default_api, default_app = urls.base_urls(data_center)
        self.client_id = client_id
        self.api_url = (api_url or default_api).rstrip("/")
        self.app_url = (app_url or default_app).rstrip("/")
        self._client_secret = client_secret
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"User-Agent": "calbot", "Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"CronofyClient(client_id={self.client_id!r}, api_url={self.api_url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> CronofyClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- OAuth ----------------------------------------------------------------------

    def authorize_url(self, *, redirect_uri: str, state: str) -> str:
        return urls.authorize_url(
            app_url=self.app_url, client_id=self.client_id, redirect_uri=redirect_uri, state=state
        )

    async def exchange_code(self, *, code: str, redirect_uri: str) -> TokenSet:
        # Cronofy consumes the code even when the answer is lost; a retry after a timeout
        # then reads invalid_grant, which the core treats like any expired link.
        return await self._token_request(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        )

    async def refresh(self, refresh_token: str) -> TokenSet:
        return await self._token_request(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )

    async def revoke(self, token: str) -> None:
        await self._request("POST", "/oauth/token/revoke", json=self._credentials({"token": token}))

    def verify_notification(self, body: bytes, header_value: str | None) -> bool:
        return push.verify_hmac(body, header_value, self._client_secret)

    # --- identity -------------------------------------------------------------------

    async def userinfo(self, access_token: str) -> UserInfo:
        data = await self._get_json("/v1/userinfo", access_token)
        return self._parse("/v1/userinfo", wire.user_info, data)

    async def profiles(self, access_token: str) -> list[CalendarProfile]:
        data = await self._get_json("/v1/profiles", access_token)
        return self._parse(
            "/v1/profiles", lambda d: [wire.calendar_profile(p) for p in d["profiles"]], data
        )

    async def calendars(self, access_token: str) -> list[CalendarInfo]:
        data = await self._get_json("/v1/calendars", access_token)
        return self._parse(
            "/v1/calendars", lambda d: [wire.calendar_info(c) for c in d["calendars"]], data
        )

    # --- push channels --------------------------------------------------------------

    async def create_channel(
        self,
        access_token: str,
        callback_url: str,
        only_types: list[str] | None = None,
    ) -> dict[str, Any]:
        """Open a push channel; Cronofy answers an identical request with the same channel."""
        body: dict[str, Any] = {"callback_url": callback_url}
        if only_types:
            # Not in the docs we could read; sent only when asked for (the sandbox honours it).
            body["filters"] = {"only_types": list(only_types)}
        response = await self._request("POST", "/v1/channels", json=body, bearer=access_token)
        data = self._json(response, "/v1/channels")
        return self._parse("/v1/channels", lambda d: dict(d["channel"]), data)

    async def channels(self, access_token: str) -> list[dict[str, Any]]:
        data = await self._get_json("/v1/channels", access_token)
        return self._parse("/v1/channels", lambda d: [dict(c) for c in d["channels"]], data)

    async def delete_channel(self, access_token: str, channel_id: str) -> None:
        await self._request("DELETE", f"/v1/channels/{channel_id}", bearer=access_token)

    # --- scheduling (reference §5–§7) -----------------------------------------------

    async def availability(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /v1/availability`` with ``body`` as built by the core; the raw answer.

        Authenticated with the client secret as API key (§5.1): the query names several
        accounts by ``sub``, which no single user's token speaks for. A read, so retrying
        it after a 429/5xx or a lost answer is harmless.
        """
        path = "/v1/availability"
        response = await self._request("POST", path, json=body, bearer=self._client_secret)
        data = self._json(response, path)
        if not isinstance(data, dict):
            raise CalendarError(f"unexpected answer shape from {path}")
        return data

    async def free_busy(
        self,
        access_token: str,
        *,
        from_: datetime,
        to: datetime,
        tzid: str = "Etc/UTC",
        include_managed: bool = True,
        calendar_ids: tuple[str, ...] = (),
    ) -> list[BusyPeriod]:
        """The account's non-free time overlapping ``[from_, to)``, all pages read.

        ``include_managed`` defaults to True, unlike Cronofy (§6, §7.3): an interview
        calbot booked elsewhere is a conflict for the booking re-check like any meeting.
        """
        params = scheduling.free_busy_params(
            from_, to, tzid, include_managed=include_managed, calendar_ids=calendar_ids
        )
        path = "/v1/free_busy"
        items: list[Any] = []
        for _ in range(MAX_PAGES):
            response = await self._request("GET", path, params=params, bearer=access_token)
            data = self._json(response, "/v1/free_busy")
            page, next_page = self._parse("/v1/free_busy", scheduling.free_busy_page, data)
            items += page
            if not next_page:
                return self._parse(
                    "/v1/free_busy",
                    lambda d: scheduling.busy_periods(d, tzid, from_, to),
                    items,
                )
            try:
                path, params = scheduling.same_origin_path(next_page, self.api_url), ()
            except ValueError:
                raise CalendarError("free_busy next_page points outside the API") from None
        raise CalendarError(f"free_busy has more than {MAX_PAGES} pages")

    async def upsert_event(
        self, access_token: str, calendar_id: str, event: dict[str, Any]
    ) -> None:
        """Create or update the event ``event["event_id"]`` in ``calendar_id`` (§7.1).

        Idempotent by construction: Cronofy keys the event on (calendar_id, event_id), so
        the retries below and a repeat by another instance update instead of duplicating.
        ``start``/``end`` may be aware datetimes (sent as UTC) or dates (all-day).
        """
        body = scheduling.event_body(event)
        await self._request("POST", _events_path(calendar_id), json=body, bearer=access_token)

    async def delete_event(self, access_token: str, calendar_id: str, event_id: str) -> None:
        """Delete calbot's event ``event_id`` from ``calendar_id`` (§7.2); 202 either way."""
        await self._request(
            "DELETE", _events_path(calendar_id), json={"event_id": event_id}, bearer=access_token
        )

    # --- plumbing -------------------------------------------------------------------

    def _credentials(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"client_id": self.client_id, "client_secret": self._client_secret, **body}

    async def _token_request(self, body: dict[str, Any]) -> TokenSet:
        # Taken before sending so the stored expiry errs on the early side.
        now = datetime.now(UTC)
        response = await self._request("POST", "/oauth/token", json=self._credentials(body))
        data = self._json(response, "/oauth/token")
        return self._parse("/oauth/token", lambda d: wire.token_set(d, now=now), data)

    async def _get_json(self, path: str, access_token: str) -> Any:
        response = await self._request("GET", path, bearer=access_token)
        return self._json(response, path)

    @staticmethod
    def _json(response: httpx.Response, path: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise CalendarError(f"unexpected non-JSON answer from {path}") from None

    @staticmethod
    def _parse(path: str, parse: Callable[[Any], T], data: Any) -> T:
        try:
            return parse(data)
        except (KeyError, TypeError, ValueError):
            # from None: the original exception could quote a token from the payload.
            raise CalendarError(f"unexpected answer shape from {path}") from None

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: tuple[tuple[str, str], ...] | None = None,
        bearer: str | None = None,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response or raise a neutral CalendarError."""
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        url = f"{self.api_url}{path}"
        response: httpx.Response | None = None
        try:
            async for attempt in retry.retrying(
                self._max_attempts,
                self._backoff_base,
                before_sleep=lambda state: self._log_retry(method, path, state),
            ):
                with attempt:
                    number = attempt.retry_state.attempt_number
                    response = await self._http.request(
                        method,
                        url,
                        json=json,
                        params=params or None,
                        headers=headers,
                    )
                    logger.debug(
                        "cronofy %s %s -> %s (attempt %d)",
                        method,
                        path,
                        response.status_code,
                        number,
                    )
                    if retry.is_retryable_status(response.status_code):
                        raise retry.RetryableStatus(
                            response.status_code,
                            retry.parse_retry_after(response.headers.get("Retry-After")),
                        )
        except RetryError as exc:
            last = exc.last_attempt.exception()
            attempts = exc.last_attempt.attempt_number
            logger.warning(
                "cronofy %s %s gave up after %d attempt(s): %s",
                method,
                path,
                attempts,
                _describe(last),
            )
            raise CalendarUnavailable(
                f"{method} {path} failed after {attempts} attempt(s): {_describe(last)}"
            ) from None
        assert response is not None
        if response.status_code >= 400:
            logger.info("cronofy %s %s -> %s", method, path, response.status_code)
            raise error_for(response, method=method, path=path)
        return response

    @staticmethod
    def _log_retry(method: str, path: str, state: RetryCallState) -> None:
        wait = state.next_action.sleep if state.next_action else 0.0
        exc = state.outcome.exception() if state.outcome else None
        logger.info(
            "cronofy %s %s: %s, retrying in %.2fs (attempt %d)",
            method,
            path,
            _describe(exc),
            wait,
            state.attempt_number,
        )


def _events_path(calendar_id: str) -> str:
    return f"/v1/calendars/{quote(calendar_id, safe='')}/events"


def _describe(exc: BaseException | None) -> str:
    """Status or exception class only: httpx messages may quote request details."""
    if isinstance(exc, retry.RetryableStatus):
        return f"HTTP {exc.status}"
    return type(exc).__name__ if exc else "unknown"

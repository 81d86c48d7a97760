"""Neutral errors the adapters raise, so the core never sees an SDK exception."""

from __future__ import annotations


class CalbotError(Exception):
    """Base class for errors the core knows how to explain."""


# --- storage ---------------------------------------------------------------------


class StoreUnavailable(CalbotError):
    """The database could not be reached (down, restarting, a dropped connection).

    Nothing of the failed call was written (each store call is one transaction); the
    same request can simply be made again once the database is back.
    """


# --- calendar (Cronofy) -------------------------------------------------------------


class CalendarError(CalbotError):
    """Any failure talking to the calendar service."""


class CalendarUnavailable(CalendarError):
    """Timeouts, 5xx or 429 that outlasted the retry budget: try again later."""


class CalendarNotConnected(CalendarError):
    """calbot holds no calendar connection for this person (nothing to ask Cronofy)."""


class CalendarAuthError(CalendarError):
    """401/403: the token or the client credentials were refused."""


class InvalidGrant(CalendarError):
    """OAuth `invalid_grant`: the code or refresh token is unknown, used or revoked."""


class CalendarNotFound(CalendarError):
    """404 from the calendar service."""


class CalendarRequestError(CalendarError):
    """400/422 with Cronofy's `errors` map."""

    def __init__(self, status: int, errors: dict[str, list[dict[str, str]]] | None = None) -> None:
        self.status = status
        self.errors = errors or {}
        super().__init__(f"calendar request rejected ({status}): {sorted(self.errors)}")


# --- chat platforms ---------------------------------------------------------------


class ChatError(CalbotError):
    """Any failure talking to a chat platform."""


class ChatThrottled(ChatError):
    """429: wait `retry_after` seconds before the next call."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"throttled, retry after {retry_after}s")


class ChatTransient(ChatError):
    """5xx or a network error: worth retrying."""


class ChatNotInstalled(ChatError):
    """The bot is not in that workspace or conversation any more: do not retry."""


class ChatNotFound(ChatError):
    """The user, channel or message does not exist: do not retry."""


class ChatScopeUnsupported(ChatNotFound):
    """The platform can't list that set of people (e.g. a whole Teams tenant).

    Its message is written for the user: it says where to ask instead.
    """

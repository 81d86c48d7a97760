"""Bot Connector failures → the core's neutral chat errors (reference/teams.md §4.3, §8).

botbuilder does not retry (we switch msrest's own retries off, see ``auth.py``): a
non-2xx answer raises ``ErrorResponseException`` whose ``response`` is the HTTP
response and whose ``error.error.code`` is Teams' code, and a network failure raises
``ClientRequestError``. Retrying is the outbox's job; this only says what happened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import requests
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot.errors import ChatError, ChatNotFound, ChatNotInstalled, ChatThrottled, ChatTransient

DEFAULT_RETRY_AFTER = 1.0


@asynccontextmanager
async def connector_errors(what: str) -> AsyncIterator[None]:
    """Run a Bot Connector call; raise only neutral ``ChatError`` subclasses."""
    try:
        yield
    except ChatError:
        raise
    except HttpOperationError as exc:
        raise from_http_error(exc, what) from exc
    except (
        ClientRequestError,
        requests.RequestException,
        aiohttp.ClientError,
        OSError,  # includes TimeoutError
    ) as exc:
        raise ChatTransient(f"{what}: network error ({type(exc).__name__})") from exc


def from_http_error(exc: Any, what: str) -> ChatError:
    status = _status(exc)
    code = _code(exc)
    detail = f"{what}: HTTP {status}" + (f" {code}" if code else "")
    if status == 429:
        return ChatThrottled(retry_after(_headers(exc).get("Retry-After")))
    if status == 403:
        # BotNotInConversationRoster (uninstalled, or the user left the team),
        # ConversationBlockedByUser, BotDisabledByAdmin: retrying cannot help.
        return ChatNotInstalled(detail)
    if status == 404:
        return ChatNotFound(detail)
    if status == 401:
        # Our credentials were refused (wrong secret, SingleTenant without tenant id,
        # tenant mismatch): a configuration fix makes the same message deliverable, so
        # let the outbox keep it with backoff rather than drop it.
        return ChatTransient(detail)
    if status in (408, 412) or status is None or status >= 500:
        return ChatTransient(detail)
    # 400 and 413 (MessageSizeTooBig): a bug on our side; retrying will not fix it.
    return ChatError(detail)


def retry_after(value: str | None, default: float = DEFAULT_RETRY_AFTER) -> float:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return default
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _status(exc: Any) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return int(status) if status is not None else None


def _headers(exc: Any) -> Any:
    return getattr(getattr(exc, "response", None), "headers", None) or {}


def _code(exc: Any) -> str | None:
    error = getattr(getattr(exc, "error", None), "error", None)
    code = getattr(error, "code", None)
    return str(code) if code else None

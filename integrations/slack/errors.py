"""slack_sdk exceptions → the core's neutral chat errors (the core never sees SDK types)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.errors import ChatError, ChatNotFound, ChatNotInstalled, ChatThrottled, ChatTransient

# Retrying will not help: the app lost its access (or never had it) for this workspace.
NOT_INSTALLED = frozenset(
    {
        "not_in_channel",
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "team_access_not_granted",
        "team_not_found",
        "missing_scope",  # the install lacks a scope: only a reinstall fixes it
        "no_permission",
        "ekm_access_denied",
    }
)

# Retrying will not help: the target does not exist (any more).
NOT_FOUND = frozenset(
    {
        "user_not_found",
        "users_not_found",
        "user_disabled",
        "channel_not_found",
        "message_not_found",
        "no_such_subteam",
        "is_archived",
        "cannot_dm_bot",
        "not_allowed_token_type",
    }
)

# Slack's own trouble, reported with HTTP 200 and ok=false.
TRANSIENT = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)

DEFAULT_RETRY_AFTER = 1.0


def slack_error_code(exc: SlackApiError) -> str:
    """The `error` field of a failed Web API call ('' when the body wasn't Slack's JSON)."""
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error") or "")
    return ""


def to_chat_error(exc: BaseException) -> ChatError:
    """The neutral error for anything the Slack client raised."""
    if isinstance(exc, SlackApiError):
        status = _status(exc.response)
        code = slack_error_code(exc)
        if status == 429:
            return ChatThrottled(_retry_after(exc.response))
        if status is not None and status >= 500:
            return ChatTransient(f"slack answered HTTP {status}")
        if code in NOT_INSTALLED:
            return ChatNotInstalled(code)
        if code in NOT_FOUND:
            return ChatNotFound(code)
        if code in TRANSIENT:
            return ChatTransient(code)
        return ChatError(f"slack refused the call: {code or f'HTTP {status}'}")
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | ConnectionError):
        return ChatTransient(f"network error talking to Slack: {type(exc).__name__}")
    if isinstance(exc, SlackClientError):
        return ChatError(f"slack client error: {type(exc).__name__}")
    return ChatError(f"unexpected error talking to Slack: {type(exc).__name__}")


def _status(response: Any) -> int | None:
    # AsyncSlackResponse has `status_code`; for an unreadable body slack_sdk hands over
    # the raw aiohttp response, which has `status`.
    for attr in ("status_code", "status"):
        value = getattr(response, attr, None)
        if isinstance(value, int):
            return value
    return None


def _retry_after(response: Any) -> float:
    headers = getattr(response, "headers", None) or {}
    raw = None
    for name in ("Retry-After", "retry-after"):
        if name in headers:
            raw = headers[name]
            break
    if isinstance(raw, list):  # slack_sdk sometimes keeps header values as lists
        raw = raw[0] if raw else None
    try:
        value = float(raw) if raw is not None else DEFAULT_RETRY_AFTER
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return max(value, 0.0)

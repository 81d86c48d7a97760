"""Cronofy HTTP error answers → calbot's neutral calendar errors."""

from __future__ import annotations

from typing import Any

import httpx

from bot.errors import (
    CalendarAuthError,
    CalendarError,
    CalendarNotFound,
    CalendarRequestError,
    InvalidGrant,
)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def errors_map(body: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """Cronofy's ``errors`` map, or an RFC 6749 ``error`` folded into the same shape."""
    raw = body.get("errors")
    if isinstance(raw, dict):
        result: dict[str, list[dict[str, str]]] = {}
        for field, items in raw.items():
            entries = items if isinstance(items, list) else [items]
            result[str(field)] = [
                {str(k): str(v) for k, v in item.items()}
                if isinstance(item, dict)
                else {"key": str(item)}
                for item in entries
            ]
        return result
    error = body.get("error")
    if isinstance(error, str):
        entry = {"key": error}
        if isinstance(body.get("error_description"), str):
            entry["description"] = body["error_description"]
        return {"error": [entry]}
    return {}


def error_for(response: httpx.Response, *, method: str, path: str) -> CalendarError:
    """The error to raise for a 4xx answer. Messages never carry the response body."""
    status = response.status_code
    body = _json_object(response)
    if status == 400 and body.get("error") == "invalid_grant":
        return InvalidGrant(f"{method} {path}: invalid_grant")
    if status in (401, 403):
        return CalendarAuthError(f"{method} {path} refused ({status})")
    if status == 404:
        return CalendarNotFound(f"{method} {path} not found")
    # 400/422 carry a map worth showing; 402/423 and other 4xx are request problems too.
    return CalendarRequestError(status, errors_map(body))

"""Cronofy base URLs per data centre and the scopes calbot asks for."""

from __future__ import annotations

from urllib.parse import quote, urlencode

# The legacy scopes stay because every official SDK still sends them by default;
# read_free_busy is explicit so a tenant that trims read_events keeps availability.
SCOPES = "read_account list_calendars read_events create_event delete_event read_free_busy"

DEFAULT_API_URL = "https://api.cronofy.com"
DEFAULT_APP_URL = "https://app.cronofy.com"


def base_urls(data_center: str | None) -> tuple[str, str]:
    """(api_url, app_url) for a data-centre SDK id such as ``uk`` or ``de``."""
    dc = (data_center or "").strip().lower()
    if dc in ("", "us"):
        return DEFAULT_API_URL, DEFAULT_APP_URL
    return f"https://api-{dc}.cronofy.com", f"https://app-{dc}.cronofy.com"


def authorize_url(*, app_url: str, client_id: str, redirect_uri: str, state: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": SCOPES,
        "state": state,
        # Without this, Cronofy joins accounts authorized from one browser via a cookie,
        # so a coordinator testing several interviewers would get one shared account.
        "avoid_linking": "true",
    }
    return f"{app_url.rstrip('/')}/oauth/authorize?{urlencode(params, quote_via=quote)}"

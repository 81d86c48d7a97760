from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.cronofy import CronofyClient
from integrations.cronofy.urls import SCOPES, base_urls


@pytest.mark.parametrize(
    ("dc", "api", "app"),
    [
        (None, "https://api.cronofy.com", "https://app.cronofy.com"),
        ("us", "https://api.cronofy.com", "https://app.cronofy.com"),
        ("uk", "https://api-uk.cronofy.com", "https://app-uk.cronofy.com"),
        ("de", "https://api-de.cronofy.com", "https://app-de.cronofy.com"),
        ("au", "https://api-au.cronofy.com", "https://app-au.cronofy.com"),
        ("ca", "https://api-ca.cronofy.com", "https://app-ca.cronofy.com"),
        ("sg", "https://api-sg.cronofy.com", "https://app-sg.cronofy.com"),
    ],
)
async def test_data_centre_urls(dc, api, app):
    assert base_urls(dc) == (api, app)
    client = CronofyClient(client_id="id", client_secret="s", data_center=dc)
    try:
        assert (client.api_url, client.app_url) == (api, app)
    finally:
        await client.aclose()


async def test_explicit_urls_override_data_centre():
    client = CronofyClient(
        client_id="id",
        client_secret="s",
        data_center="de",
        api_url="http://127.0.0.1:9/",
        app_url="http://127.0.0.1:8",
    )
    try:
        assert client.api_url == "http://127.0.0.1:9"
        assert client.app_url == "http://127.0.0.1:8"
    finally:
        await client.aclose()


async def test_authorize_url_shape():
    client = CronofyClient(client_id="my id&x", client_secret="s", data_center="uk")
    try:
        url = client.authorize_url(
            redirect_uri="https://bot.example.com/oauth/cronofy/callback?x=1", state="a b/c+d"
        )
    finally:
        await client.aclose()
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "app-uk.cronofy.com",
        "/oauth/authorize",
    )
    assert " " not in url and "+" not in parts.query  # spaces are %20, never a bare '+'
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert params == {
        "response_type": "code",
        "client_id": "my id&x",
        "redirect_uri": "https://bot.example.com/oauth/cronofy/callback?x=1",
        "scope": "read_account list_calendars read_events create_event delete_event read_free_busy",
        "state": "a b/c+d",
        "avoid_linking": "true",
    }
    assert params["scope"] == SCOPES
    assert list(params) == [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "avoid_linking",
    ]


async def test_repr_hides_secret():
    client = CronofyClient(client_id="id", client_secret="top-secret-value")
    try:
        assert "top-secret-value" not in repr(client)
    finally:
        await client.aclose()

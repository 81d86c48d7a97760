"""The sandbox's OAuth surface as a browser and a raw HTTP client see it."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from integrations.cronofy.sandbox import OUTCOMES, Page, outcome

from .conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, approve, query_of


def _authorize_query(**overrides: str) -> dict[str, str]:
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "read_events",
        "state": "st/1 +x",
        "avoid_linking": "true",
    }
    query.update(overrides)
    return query


def _hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', html))


async def test_authorize_page_renders_consent(sandbox, http):
    response = await http.get(f"{sandbox.url}/oauth/authorize", params=_authorize_query())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "Sign in to Office 365" in html and "Cronofy for Office 365" in html
    assert "Read and write your calendars" in html
    assert 'name="email" value="" required' in html
    assert '<option value="office365" selected>Office 365</option>' in html
    assert 'value="approve"' in html and ">Accept<" in html and ">Cancel<" in html
    assert _hidden_fields(html)["state"] == "st/1 +x"


async def test_login_hint_and_provider_prefill(sandbox, http):
    query = _authorize_query(login_hint="jo@contoso.com", provider_name="google")
    html = (await http.get(f"{sandbox.url}/oauth/authorize", params=query)).text
    assert 'name="email" value="jo@contoso.com" required' in html
    assert '<option value="google" selected>Google</option>' in html


async def test_html_is_escaped(sandbox, http):
    query = _authorize_query(state='"><script>alert(1)</script>')
    html = (await http.get(f"{sandbox.url}/oauth/authorize", params=query)).text
    assert "<script>" not in html


@pytest.mark.parametrize(
    "overrides",
    [{"client_id": "someone-else"}, {"redirect_uri": "javascript:alert(1)"}, {"redirect_uri": ""}],
)
async def test_bad_client_or_redirect_never_redirects(sandbox, http, overrides):
    response = await http.get(
        f"{sandbox.url}/oauth/authorize", params=_authorize_query(**overrides)
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "location" not in response.headers


async def test_bad_response_type_redirects_with_error(sandbox, http):
    response = await http.get(
        f"{sandbox.url}/oauth/authorize", params=_authorize_query(response_type="token")
    )
    assert response.status_code == 302
    assert query_of(response.headers["location"]) == {
        "error": "unsupported_response_type",
        "state": "st/1 +x",
    }


async def test_form_approve_creates_user_and_redirects_with_code(sandbox, http):
    page = await http.get(f"{sandbox.url}/oauth/authorize", params=_authorize_query())
    form = {**_hidden_fields(page.text), "email": "New.Person@Fabrikam.com", "decision": "approve"}
    response = await http.post(f"{sandbox.url}/oauth/authorize", data=form)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = query_of(location)
    assert params["state"] == "st/1 +x" and re.fullmatch(r"[0-9a-f]{32}", params["code"])
    user = sandbox.state.user("new.person@fabrikam.com")
    assert user is not None
    assert (user.provider_name, user.provider_service) == ("exchange", "office365")
    assert [(c.calendar_name, c.primary) for c in user.calendars] == [("Calendar", True)]


async def test_form_google_provider(sandbox, http):
    form = {
        **_authorize_query(),
        "email": "g@gmail.com",
        "decision": "approve",
        "provider": "google",
    }
    response = await http.post(f"{sandbox.url}/oauth/authorize", data=form)
    assert response.status_code == 302
    user = sandbox.state.user("g@gmail.com")
    assert user is not None and (user.provider_name, user.provider_service) == ("google", "gsuite")


async def test_form_cancel_is_access_denied(sandbox, http):
    form = {**_authorize_query(), "email": "", "decision": "cancel"}
    response = await http.post(f"{sandbox.url}/oauth/authorize", data=form)
    assert response.status_code == 302
    assert query_of(response.headers["location"]) == {"error": "access_denied", "state": "st/1 +x"}
    assert sandbox.state.users() == []


async def test_form_approve_without_email_shows_the_form_again(sandbox, http):
    form = {**_authorize_query(), "email": "", "decision": "approve"}
    response = await http.post(f"{sandbox.url}/oauth/authorize", data=form)
    assert response.status_code == 400 and 'role="alert"' in response.text


async def test_form_unknown_decision_and_tampered_client(sandbox, http):
    form = {**_authorize_query(), "email": "a@b.com", "decision": "maybe"}
    assert (await http.post(f"{sandbox.url}/oauth/authorize", data=form)).status_code == 400
    form = {**_authorize_query(client_id="evil"), "email": "a@b.com", "decision": "approve"}
    response = await http.post(f"{sandbox.url}/oauth/authorize", data=form)
    assert response.status_code == 400 and "location" not in response.headers


async def test_registered_outcome_can_show_a_page(sandbox, http):
    @outcome("test_admin_approval")
    def admin_approval(state, request, email, provider):
        return Page(200, "Need admin approval", "<h1>Need admin approval</h1>")

    try:
        url = f"{sandbox.url}/oauth/authorize?{urlencode(_authorize_query())}"
        response = await http.post(
            f"{sandbox.url}/_sandbox/approve",
            json={"authorize_url": url, "email": "a@b.com", "decision": "test_admin_approval"},
        )
        assert response.json() == {
            "location": None,
            "page": {"status": 200, "title": "Need admin approval", "text": ""},
        }
        # A tenant-wide forced outcome replaces "approve" for everyone in that domain.
        forced = await http.post(
            f"{sandbox.url}/_sandbox/outcomes",
            json={"match": "contoso.com", "outcome": "test_admin_approval"},
        )
        assert forced.status_code == 200
        form = {**_authorize_query(), "email": "x@contoso.com", "decision": "approve"}
        page = await http.post(f"{sandbox.url}/oauth/authorize", data=form)
        assert page.status_code == 200 and "Need admin approval" in page.text
        assert await approve(http, sandbox, url, "x@fabrikam.com")  # other tenants unaffected
    finally:
        del OUTCOMES["test_admin_approval"]


async def test_approve_endpoint_errors(sandbox, http):
    url = f"{sandbox.url}/oauth/authorize?{urlencode(_authorize_query(client_id='nope'))}"
    bad = await http.post(
        f"{sandbox.url}/_sandbox/approve", json={"authorize_url": url, "email": "a@b.com"}
    )
    assert bad.status_code == 400
    url = f"{sandbox.url}/oauth/authorize?{urlencode(_authorize_query())}"
    denied = await approve(http, sandbox, url, "a@b.com", decision="cancel")
    assert query_of(denied)["error"] == "access_denied"


async def _code(http, sandbox, email="t@contoso.com") -> str:
    url = f"{sandbox.url}/oauth/authorize?{urlencode(_authorize_query())}"
    return query_of(await approve(http, sandbox, url, email))["code"]


async def test_token_endpoint_errors(sandbox, http):
    token_url = f"{sandbox.url}/oauth/token"
    creds = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    code = await _code(http, sandbox)

    wrong = await http.post(
        token_url, json={**creds, "client_secret": "wrong", "grant_type": "authorization_code"}
    )
    assert (wrong.status_code, wrong.json()) == (401, {"error": "invalid_client"})
    unsupported = await http.post(token_url, json={**creds, "grant_type": "password"})
    assert (unsupported.status_code, unsupported.json()) == (
        400,
        {"error": "unsupported_grant_type"},
    )
    missing = await http.post(token_url, json=creds)
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    unknown = await http.post(
        token_url, json={**creds, "grant_type": "refresh_token", "refresh_token": "nope"}
    )
    assert (unknown.status_code, unknown.json()) == (400, {"error": "invalid_grant"})

    # Form-encoded bodies work as well as JSON; the answer must not be cached.
    ok = await http.post(
        token_url,
        data={
            **creds,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"
    body = ok.json()
    assert set(body) >= {
        "token_type",
        "access_token",
        "expires_in",
        "refresh_token",
        "scope",
        "account_id",
        "sub",
        "linking_profile",
    }
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["account_id"] == body["sub"] and body["scope"] == "read_events"
    assert set(body["linking_profile"]) == {
        "provider_name",
        "provider_service",
        "profile_id",
        "profile_name",
    }
    reused = await http.post(
        token_url,
        json={
            **creds,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert (reused.status_code, reused.json()) == (400, {"error": "invalid_grant"})


async def test_basic_auth_and_revoke_by_sub(sandbox, http):
    code = await _code(http, sandbox, "s@contoso.com")
    tokens = (
        await http.post(
            f"{sandbox.url}/oauth/token",
            auth=(CLIENT_ID, CLIENT_SECRET),
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        )
    ).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await http.get(f"{sandbox.url}/v1/userinfo", headers=bearer)).status_code == 200

    revoke_url = f"{sandbox.url}/oauth/token/revoke"
    creds = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert (await http.post(revoke_url, json=creds)).status_code == 400
    assert (
        await http.post(revoke_url, json={**creds, "client_secret": "x", "sub": "a"})
    ).status_code == 401
    response = await http.post(revoke_url, json={**creds, "sub": tokens["sub"]})
    assert response.status_code == 200 and response.content == b""
    assert (await http.get(f"{sandbox.url}/v1/userinfo", headers=bearer)).status_code == 401
    assert (await http.get(f"{sandbox.url}/v1/calendars")).status_code == 401


async def test_expired_code_is_invalid_grant(http):
    from datetime import UTC, datetime, timedelta

    from integrations.cronofy.sandbox import start_sandbox

    now = [datetime(2026, 5, 4, 9, 0, tzinfo=UTC)]
    sandbox = await start_sandbox(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, clock=lambda: now[0]
    )
    try:
        code = await _code(http, sandbox)
        now[0] += timedelta(minutes=11)
        response = await http.post(
            f"{sandbox.url}/oauth/token",
            json={
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
            },
        )
        assert response.json() == {"error": "invalid_grant"}
    finally:
        await sandbox.close()

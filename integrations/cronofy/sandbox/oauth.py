"""OAuth endpoints: the authorize page, token and revoke, in Cronofy's wire format."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from integrations.cronofy.sandbox import outcomes, pages
from integrations.cronofy.sandbox.models import AccessToken, Authorization
from integrations.cronofy.sandbox.state import STATE_KEY, OAuthError, SandboxState

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def _rejected(reason: str) -> web.Response:
    # A request Cronofy itself refuses never reaches Microsoft, so the page is Cronofy's.
    page = pages.message_page("Sorry, this link doesn't work", reason, brand="Cronofy")
    return _html(page, status=400)


def to_response(result: outcomes.Result) -> web.Response:
    if isinstance(result, outcomes.Redirect):
        raise web.HTTPFound(result.location)
    return _html(result.html, status=result.status)


async def authorize_page(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        auth = outcomes.parse_request(request.query, state)
    except outcomes.AuthorizeRejected as exc:
        return _rejected(str(exc))
    if auth.response_type != "code":
        return to_response(outcomes.error_redirect(auth, "unsupported_response_type"))
    return _html(
        pages.consent_page(hidden=auth.params, email=auth.login_hint, provider=auth.provider)
    )


async def authorize_decision(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    form = {k: str(v) for k, v in (await request.post()).items()}
    try:
        auth = outcomes.parse_request(form, state)
    except outcomes.AuthorizeRejected as exc:
        return _rejected(str(exc))
    email = form.get("email", "").strip()
    try:
        result = outcomes.decide(
            state,
            auth,
            email=email,
            decision=form.get("decision", ""),
            provider=form.get("provider"),
        )
    except outcomes.UnknownDecision:
        return _rejected("Unknown decision.")
    except ValueError as exc:
        page = pages.consent_page(
            hidden=auth.params, email=email, provider=auth.provider, error=str(exc)
        )
        return _html(page, status=400)
    return to_response(result)


async def _read_body(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            raise OAuthError("invalid_request", description="body is not JSON") from None
        if not isinstance(data, dict):
            raise OAuthError("invalid_request")
        return data
    return {k: str(v) for k, v in (await request.post()).items()}


def _client_credentials(request: web.Request, body: dict[str, Any]) -> tuple[str, str]:
    """Body credentials as Cronofy documents; HTTP Basic as RFC 6749 also allows."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", status=401) from None
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    return str(body.get("client_id") or ""), str(body.get("client_secret") or "")


def _oauth_error(exc: OAuthError) -> web.Response:
    return web.json_response(exc.body(), status=exc.status, headers=NO_STORE)


def _token_json(
    state: SandboxState, auth: Authorization, access: AccessToken, *, with_account: bool
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "token_type": "bearer",
        "access_token": access.token,
        "expires_in": state.access_token_ttl,
        "refresh_token": auth.refresh_token,
        "scope": auth.scope,
    }
    user = state.user(auth.email)
    # Only the code exchange names the account, as in Cronofy's documented examples.
    if with_account and user is not None:
        data["account_id"] = user.sub
        data["sub"] = user.sub
        data["linking_profile"] = user.linking_profile()
    return data


async def token(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        body = await _read_body(request)
        state.check_client(*_client_credentials(request, body))
        grant_type = body.get("grant_type")
        if grant_type == "authorization_code":
            if not body.get("code") or not body.get("redirect_uri"):
                raise OAuthError("invalid_request", description="code and redirect_uri required")
            auth, access = state.redeem_code(str(body["code"]), str(body["redirect_uri"]))
            data = _token_json(state, auth, access, with_account=True)
        elif grant_type == "refresh_token":
            if not body.get("refresh_token"):
                raise OAuthError("invalid_request", description="refresh_token required")
            auth, access = state.refresh(str(body["refresh_token"]))
            data = _token_json(state, auth, access, with_account=False)
        elif not grant_type:
            raise OAuthError("invalid_request", description="grant_type required")
        else:
            raise OAuthError("unsupported_grant_type")
    except OAuthError as exc:
        return _oauth_error(exc)
    return web.json_response(data, headers=NO_STORE)


async def revoke(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    try:
        body = await _read_body(request)
        state.check_client(*_client_credentials(request, body))
        token_value, sub = body.get("token"), body.get("sub")
        if not token_value and not sub:
            raise OAuthError("invalid_request", description="token or sub required")
    except OAuthError as exc:
        return _oauth_error(exc)
    state.revoke(token=str(token_value) if token_value else None, sub=str(sub) if sub else None)
    return web.Response(status=200)


async def relink_page(request: web.Request) -> web.Response:
    """Where ``profile_relink_url`` points: one click reconnects the profile."""
    state = request.app[STATE_KEY]
    user = state.user(request.query.get("email", ""))
    if user is None:
        return _rejected("Unknown account.")
    if request.method == "POST":
        state.reconnect(user.email)
        page = pages.message_page(
            "Calendar reconnected", f"{user.email} is connected again.", brand="Cronofy"
        )
        return _html(page)
    return _html(pages.relink_page(email=user.email))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/relink/{provider}", relink_page)
    app.router.add_post("/relink/{provider}", relink_page)
    app.router.add_get("/oauth/authorize", authorize_page)
    app.router.add_post("/oauth/authorize", authorize_decision)
    app.router.add_post("/oauth/token", token)
    app.router.add_post("/oauth/token/revoke", revoke)

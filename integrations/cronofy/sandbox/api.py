"""The ``/v1`` endpoints calbot uses, authenticated with a Bearer access token."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from integrations.cronofy.sandbox.models import Authorization, SandboxUser
from integrations.cronofy.sandbox.state import STATE_KEY


def base_url(request: web.Request) -> str:
    return str(request.url.origin())


def authenticate(request: web.Request) -> tuple[SandboxUser, Authorization]:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    found = request.app[STATE_KEY].authenticate(token.strip()) if scheme == "Bearer" else None
    if found is None:
        raise web.HTTPUnauthorized(headers={"WWW-Authenticate": 'Bearer realm="cronofy"'})
    return found


def _unprocessable(field: str, key: str, description: str) -> web.Response:
    errors = {field: [{"key": key, "description": description}]}
    return web.json_response({"errors": errors}, status=422)


async def userinfo(request: web.Request) -> web.Response:
    user, auth = authenticate(request)
    return web.json_response(user.userinfo_json(base_url(request), auth.scope))


async def profiles(request: web.Request) -> web.Response:
    user, _ = authenticate(request)
    return web.json_response({"profiles": [user.profile_json(base_url(request))]})


async def calendars(request: web.Request) -> web.Response:
    user, _ = authenticate(request)
    return web.json_response({"sub": user.sub, "calendars": user.calendars_json()})


async def create_channel(request: web.Request) -> web.Response:
    user, _ = authenticate(request)
    try:
        body: Any = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _unprocessable("callback_url", "errors.required", "required")
    callback_url = body.get("callback_url")
    if not isinstance(callback_url, str) or not callback_url:
        return _unprocessable("callback_url", "errors.required", "required")
    if urlsplit(callback_url).scheme not in ("http", "https"):
        return _unprocessable("callback_url", "errors.invalid_url", "must be an http(s) URL")
    filters = body.get("filters") or {}
    if not isinstance(filters, dict):
        return _unprocessable("filters", "errors.invalid", "must be an object")
    if "calendar_ids" in filters and not filters["calendar_ids"]:
        return _unprocessable("filters.calendar_ids", "errors.required", "must not be empty")
    channel = request.app[STATE_KEY].create_channel(user.sub, callback_url, filters)
    return web.json_response({"channel": channel.to_json()})


async def list_channels(request: web.Request) -> web.Response:
    user, _ = authenticate(request)
    channels = request.app[STATE_KEY].channels(user.sub)
    return web.json_response({"channels": [c.to_json() for c in channels]})


async def delete_channel(request: web.Request) -> web.Response:
    user, _ = authenticate(request)
    if not request.app[STATE_KEY].delete_channel(user.sub, request.match_info["channel_id"]):
        raise web.HTTPNotFound()
    return web.Response(status=202)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/userinfo", userinfo)
    app.router.add_get("/v1/profiles", profiles)
    app.router.add_get("/v1/calendars", calendars)
    app.router.add_post("/v1/channels", create_channel)
    app.router.add_get("/v1/channels", list_channels)
    app.router.add_delete("/v1/channels/{channel_id}", delete_channel)

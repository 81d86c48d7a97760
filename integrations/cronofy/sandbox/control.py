"""``/_sandbox/*``: the JSON control API the tests and the demo drive the sandbox with."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from integrations.cronofy.sandbox import outcomes, times
from integrations.cronofy.sandbox.models import SandboxUser
from integrations.cronofy.sandbox.state import STATE_KEY, SandboxState


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "body must be JSON"}', content_type="application/json"
        ) from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(
            text='{"error": "body must be a JSON object"}', content_type="application/json"
        )
    return data


def _user_or_404(state: SandboxState, request: web.Request) -> SandboxUser:
    user = state.user(request.match_info["email"])
    if user is None:
        raise web.HTTPNotFound(text='{"error": "unknown user"}', content_type="application/json")
    return user


async def create_user(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await _body(request)
    email = body.get("email")
    if not isinstance(email, str):
        return _error(422, "email is required")
    kwargs: dict[str, Any] = {
        k: body[k]
        for k in ("name", "zoneinfo", "provider", "calendars", "connected", "initial_sync_required")
        if body.get(k) is not None
    }
    if state.user(email) is not None:
        return _error(409, "user already exists")
    try:
        user = state.add_user(email, **kwargs)
    except (ValueError, TypeError) as exc:
        return _error(422, str(exc))
    return web.json_response(user.to_json(), status=201)


async def list_users(request: web.Request) -> web.Response:
    users = request.app[STATE_KEY].users()
    return web.json_response({"users": [u.to_json() for u in users]})


async def get_user(request: web.Request) -> web.Response:
    return web.json_response(_user_or_404(request.app[STATE_KEY], request).to_json())


async def disconnect(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    user = _user_or_404(state, request)
    deliveries = await state.disconnect(user.email)
    return web.json_response(
        {"user": user.to_json(), "deliveries": [d.to_json() for d in deliveries]}
    )


async def reconnect(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    user = state.reconnect(_user_or_404(state, request).email)
    return web.json_response({"user": user.to_json()})


async def expire_tokens(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    state.expire_access_tokens(_user_or_404(state, request).email)
    return web.json_response({"ok": True})


def _int(body: dict[str, Any], key: str, default: int | None = None) -> int | None:
    value = body.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number")
    return int(value)


async def set_faults(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await _body(request)
    try:
        if "refresh" in body:
            error = body["refresh"]
            if not isinstance(error, str) or not error:
                raise ValueError("refresh must name an OAuth error, e.g. invalid_grant")
            state.fail_refresh(email=body.get("email"), error=error)
        if "latency_ms" in body:
            state.set_latency(_int(body, "latency_ms") or 0)
        if "fail_next" in body:
            status = _int(body, "status", 503) or 503
            if not 400 <= status <= 599:
                raise ValueError("status must be an HTTP error status")
            retry_after = body.get("retry_after")
            if retry_after is not None and not isinstance(retry_after, int | float):
                raise ValueError("retry_after must be a number")
            state.fail_next(_int(body, "fail_next") or 0, status, retry_after)
    except ValueError as exc:
        return _error(422, str(exc))
    return web.json_response(state.faults.to_json())


async def get_faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE_KEY].faults.to_json())


async def clear_faults(request: web.Request) -> web.Response:
    request.app[STATE_KEY].clear_faults()
    return web.json_response(request.app[STATE_KEY].faults.to_json())


async def force_outcome(request: web.Request) -> web.Response:
    """``{"match": "contoso.com" | "a@contoso.com", "outcome": name}``."""
    state = request.app[STATE_KEY]
    body = await _body(request)
    match, outcome = body.get("match"), body.get("outcome")
    if not isinstance(match, str) or not match:
        return _error(422, "match is required")
    if outcome not in outcomes.OUTCOMES:
        return _error(422, f"outcome must be one of {sorted(outcomes.OUTCOMES)}")
    state.force_outcome(match if "@" in match else "@" + match, str(outcome))
    return web.json_response({"forced_outcomes": state.forced_outcomes})


async def reset(request: web.Request) -> web.Response:
    request.app[STATE_KEY].reset()
    return web.json_response({"ok": True})


async def list_requests(request: web.Request) -> web.Response:
    records = request.app[STATE_KEY].requests
    return web.json_response({"requests": [r.to_json() for r in records]})


async def clear_requests(request: web.Request) -> web.Response:
    request.app[STATE_KEY].requests.clear()
    return web.json_response({"requests": []})


async def list_notifications(request: web.Request) -> web.Response:
    deliveries = request.app[STATE_KEY].notifications
    return web.json_response({"notifications": [d.to_json() for d in deliveries]})


async def approve(request: web.Request) -> web.Response:
    """Acts out the browser step: the consent page answered with ``decision``."""
    state = request.app[STATE_KEY]
    body = await _body(request)
    url, email = body.get("authorize_url"), body.get("email", "")
    if not isinstance(url, str) or not isinstance(email, str):
        return _error(422, "authorize_url and email are required")
    try:
        auth = outcomes.parse_url(url, state)
        result = outcomes.decide(
            state,
            auth,
            email=email,
            decision=str(body.get("decision", "approve")),
            provider=body.get("provider"),
        )
    except outcomes.AuthorizeRejected as exc:
        return _error(400, str(exc))
    except outcomes.UnknownDecision as exc:
        return _error(422, f"unknown decision {exc}; known: {sorted(outcomes.OUTCOMES)}")
    except ValueError as exc:
        return _error(422, str(exc))
    if isinstance(result, outcomes.Redirect):
        return web.json_response({"location": result.location})
    return web.json_response(
        {
            "location": None,
            "page": {"status": result.status, "title": result.title, "text": result.details},
        }
    )


async def add_events(request: web.Request) -> web.Response:
    """Seed busy blocks: a JSON array (or ``{"events": [...]}``) of ``{start, end,
    summary?, status?, calendar_id?}``; times are ISO-8601 with a zone, or dates for
    all-day events. All or nothing: one bad item adds none."""
    state = request.app[STATE_KEY]
    user = _user_or_404(state, request)
    try:
        data = await request.json()
    except ValueError:
        return _error(400, "body must be JSON")
    items = data.get("events") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        return _error(422, "send a non-empty array of {start, end, summary}")
    parsed: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            return _error(422, f"events[{index}] must be an object")
        bounds = [times.instant(item.get(k)) or times.day(item.get(k)) for k in ("start", "end")]
        if bounds[0] is None or bounds[1] is None:
            return _error(422, f"events[{index}]: start and end must be ISO times or dates")
        parsed.append(
            {
                "start": bounds[0],
                "end": bounds[1],
                "summary": str(item.get("summary") or "Busy"),
                "status": str(item.get("status") or "busy"),
                "calendar_id": item.get("calendar_id"),
            }
        )
    added = []
    before = dict(user.events)
    try:
        for fields in parsed:
            added.append(state.add_busy(user.email, **fields))
    except ValueError as exc:
        user.events = before  # all or nothing
        return _error(422, str(exc))
    return web.json_response({"events": [e.to_json() for e in added]}, status=201)


async def list_events(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    user = _user_or_404(state, request)
    return web.json_response({"events": [e.to_json() for e in state.events(user.email)]})


async def clear_events(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    state.clear_events(_user_or_404(state, request).email)
    return web.json_response({"events": []})


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/_sandbox/users", create_user)
    r.add_get("/_sandbox/users", list_users)
    r.add_get("/_sandbox/users/{email}", get_user)
    r.add_post("/_sandbox/users/{email}/disconnect", disconnect)
    r.add_post("/_sandbox/users/{email}/reconnect", reconnect)
    r.add_post("/_sandbox/users/{email}/expire_tokens", expire_tokens)
    r.add_post("/_sandbox/users/{email}/events", add_events)
    r.add_get("/_sandbox/users/{email}/events", list_events)
    r.add_delete("/_sandbox/users/{email}/events", clear_events)
    r.add_post("/_sandbox/faults", set_faults)
    r.add_get("/_sandbox/faults", get_faults)
    r.add_delete("/_sandbox/faults", clear_faults)
    r.add_post("/_sandbox/outcomes", force_outcome)
    r.add_post("/_sandbox/reset", reset)
    r.add_get("/_sandbox/requests", list_requests)
    r.add_delete("/_sandbox/requests", clear_requests)
    r.add_get("/_sandbox/notifications", list_notifications)
    r.add_post("/_sandbox/approve", approve)

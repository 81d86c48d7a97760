"""One aiohttp application for every route; chat adapters add theirs to it."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.connect import ConnectFlow
from bot.errors import StoreUnavailable
from bot.health import HealthService

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
CONNECT_FLOW: web.AppKey[ConnectFlow] = web.AppKey("connect_flow", ConnectFlow)
HEALTH: web.AppKey[HealthService] = web.AppKey("health", HealthService)
READY_CHECK: web.AppKey[Callable[[], Awaitable[str | None]]] = web.AppKey("ready_check")

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)


def render(template: str, *, status: int = 200, **context: Any) -> web.Response:
    html = _env.get_template(template).render(**context)
    return web.Response(text=html, status=status, content_type="text/html")


def _no_store(response: web.StreamResponse) -> web.StreamResponse:
    # Pages that carry or follow a personal link must not be cached or leak via Referer.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


_PROBLEMS = {
    "unknown": (
        404,
        "This link isn't valid",
        "The link may have been copied incompletely, or it was replaced by a newer one.",
    ),
    "expired": (
        410,
        "This link has expired",
        "Connect links work for 7 days so that a forwarded or forgotten link can't be used later.",
    ),
    "used": (
        410,
        "This link was already used",
        "Each link connects one calendar once. If you need to connect again, ask for a new link.",
    ),
}


async def open_connect_link(request: web.Request) -> web.StreamResponse:
    flow = request.app[CONNECT_FLOW]
    token = request.match_info["token"]
    result = await flow.open_link(token)
    if result.kind == "redirect" and result.url:
        raise web.HTTPFound(
            result.url, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        )
    status, title, detail = _PROBLEMS[result.kind]
    return _no_store(render("link_problem.html", status=status, title=title, detail=detail))


async def oauth_callback(request: web.Request) -> web.StreamResponse:
    flow = request.app[CONNECT_FLOW]
    q = request.query
    result = await flow.finish(
        state=q.get("state"),
        code=q.get("code"),
        error=q.get("error"),
        error_description=q.get("error_description"),
    )
    if result.kind == "connected" and result.user is not None:
        page = render(
            "connected.html",
            provider=result.provider,
            account=result.account,
            chat_name=result.user.display_name or result.user.ref.user_id,
        )
        return _no_store(page)
    if result.kind == "forged":
        page = render(
            "callback_problem.html",
            status=400,
            title="We couldn't verify this sign-in",
            detail="The request didn't come from a link calbot sent, or it is too old. "
            "Nothing was connected. Ask calbot for a new link with /calendar connect.",
        )
        return _no_store(page)
    if result.kind == "used":
        page = render(
            "callback_problem.html",
            status=410,
            title="This sign-in was already completed",
            detail="Your calendar connection was already saved. You can close this tab.",
        )
        return _no_store(page)
    status = 503 if result.kind == "unavailable" else 400
    page = render(
        "callback_problem.html",
        status=status,
        title="Connecting your calendar didn't finish",
        detail=result.reason[:1].upper()
        + result.reason[1:]
        + " We've sent you the details in chat, with a button to try again.",
    )
    return _no_store(page)


MAX_NOTIFICATION_BYTES = 64 * 1024


async def cronofy_webhook(request: web.Request) -> web.Response:
    """Cronofy push notifications: HMAC-checked over the raw body before anything else."""
    if request.content_length is not None and request.content_length > MAX_NOTIFICATION_BYTES:
        return web.json_response({"error": "too large"}, status=413)
    # `read(n)` returns what has arrived so far, possibly one chunk of a chunked body:
    # read to the end (or just past the limit) so the HMAC covers the whole body.
    body = b""
    while len(body) <= MAX_NOTIFICATION_BYTES:
        chunk = await request.content.read(MAX_NOTIFICATION_BYTES + 1 - len(body))
        if not chunk:
            break
        body += chunk
    if len(body) > MAX_NOTIFICATION_BYTES:
        return web.json_response({"error": "too large"}, status=413)
    payload: object = None
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    result = await request.app[HEALTH].notification(
        request.match_info["key"],
        body,
        request.headers.get("Cronofy-HMAC-SHA256"),
        payload if isinstance(payload, dict) else None,
    )
    if result == "refused":
        return web.json_response({"error": "invalid signature"}, status=401)
    if result == "unknown":
        return web.json_response({"error": "unknown channel"}, status=404)
    return web.json_response({"status": "accepted"}, status=202)


UNAVAILABLE_TITLE = "calbot is briefly unavailable"
UNAVAILABLE_DETAIL = (
    "Its database isn't answering right now, so nothing was saved. This usually clears up "
    "within a minute: reload this page then. If you were connecting your calendar and it "
    "then says the sign-in must be redone, open your link from the chat again."
)
RETRY_AFTER = "30"  # seconds; a database restart or failover takes about that long


@web.middleware
async def error_pages(request: web.Request, handler: Any) -> web.StreamResponse:
    """A failure becomes a page a person can act on (JSON for machines), never aiohttp's
    bare "500 Internal Server Error"; a database outage is a 503 saying "try again"."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except StoreUnavailable as exc:
        # The route template, not the path: a path may carry a personal link's token.
        log.warning("%s %s: database unavailable (%s)", request.method, _route(request), exc)
        status, title, detail = 503, UNAVAILABLE_TITLE, UNAVAILABLE_DETAIL
    except Exception:
        log.exception("%s %s failed", request.method, _route(request))
        status, title = 500, "Something went wrong on calbot's side"
        detail = "Nothing you did caused this. Please try again in a minute."
    if request.method == "GET":
        response: web.StreamResponse = _no_store(
            render("callback_problem.html", status=status, title=title, detail=detail)
        )
    else:
        response = web.json_response({"error": title}, status=status)
    if status == 503:
        response.headers["Retry-After"] = RETRY_AFTER
    return response


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(unmatched)"


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    problem = await request.app[READY_CHECK]()
    if problem:
        return web.json_response({"status": "not ready", "reason": problem}, status=503)
    return web.json_response({"status": "ready"})


def create_web_app(
    *,
    connect: ConnectFlow,
    health: HealthService,
    ready_check: Callable[[], Awaitable[str | None]],
) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024)
    app[CONNECT_FLOW] = connect
    app[HEALTH] = health
    app[READY_CHECK] = ready_check
    app.add_routes(
        [
            web.get("/connect/{token}", open_connect_link),
            web.get("/oauth/cronofy/callback", oauth_callback),
            web.post("/webhooks/cronofy/{key}", cronofy_webhook),
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
        ]
    )
    # Request ids, request metrics and GET /metrics (a registry per app, hence per runtime).
    from integrations.ops.metrics import install_web_metrics

    install_web_metrics(app)
    # Innermost, so request ids and metrics see the 503/500 it answers with.
    app.middlewares.append(error_pages)
    return app

"""Request ids: taken from `X-Request-Id` (a load balancer's) or made, logged, echoed."""

from __future__ import annotations

import re
import secrets

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

HEADER = "X-Request-Id"
# A caller-supplied id goes into every log line and a response header, so only a short,
# plain token is accepted: no spaces, quotes or control characters to forge log fields.
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id", str)


def new_request_id() -> str:
    return secrets.token_hex(16)


def incoming_request_id(request: web.Request) -> str:
    given = request.headers.get(HEADER)
    return given if given and _VALID.match(given) else new_request_id()


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Binds `request_id` into structlog's contextvars for the request and echoes it.

    stdlib `logging` records pass through the same `merge_contextvars` step (see
    `integrations.logging`), so every log line written while serving the request carries
    the id, including the SDKs'. Tasks started by the handler inherit the binding.
    """
    request_id = incoming_request_id(request)
    request[REQUEST_ID] = request_id
    # bind/reset rather than the `bound_contextvars` context manager: this runs before
    # every Slack ack, and the generator-based manager costs as much as the rest.
    bound = structlog.contextvars.bind_contextvars(request_id=request_id)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        # Redirects and error pages are raised, not returned; they carry the id too.
        exc.headers[HEADER] = request_id
        raise
    finally:
        structlog.contextvars.reset_contextvars(**bound)
    if not response.prepared:
        response.headers[HEADER] = request_id
    return response

"""Assembles the sandbox app and runs it on a real port."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

from aiohttp import web

from integrations.cronofy.sandbox import api, control, oauth, scheduling_api
from integrations.cronofy.sandbox.models import RequestRecord
from integrations.cronofy.sandbox.state import STATE_KEY, SandboxState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Faults stand in for Cronofy's own trouble, so they hit the API and token endpoints
# but never the authorize page (served by the app host) or the control API.
_FAULTABLE = ("/v1/", "/oauth/token")


async def _apply_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    if not request.path.startswith(_FAULTABLE):
        return await handler(request)
    if state.faults.latency_ms:
        await asyncio.sleep(state.faults.latency_ms / 1000)
    failure = state.take_failure()
    if failure is None:
        return await handler(request)
    status, retry_after = failure
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    return web.json_response({"error": "sandbox fault"}, status=status, headers=headers)


@web.middleware
async def _record(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/_sandbox/"):
        return await handler(request)
    status = 500
    try:
        response = await _apply_faults(request, handler)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        # Path only: the query of an authorize request is not secret, but keep the log
        # uniform and obviously token-free.
        request.app[STATE_KEY].requests.append(RequestRecord(request.method, request.path, status))


def create_sandbox_app(
    *,
    client_id: str,
    client_secret: str,
    clock: Callable[[], datetime] | None = None,
) -> web.Application:
    state = SandboxState(client_id=client_id, client_secret=client_secret, clock=clock)
    app = web.Application(middlewares=[_record])
    app[STATE_KEY] = state
    oauth.add_routes(app)
    api.add_routes(app)
    scheduling_api.add_routes(app)
    control.add_routes(app)

    async def close_state(app: web.Application) -> None:
        await app[STATE_KEY].aclose()

    app.on_cleanup.append(close_state)
    return app


@dataclass
class RunningSandbox:
    url: str
    state: SandboxState
    app: web.Application
    runner: web.AppRunner

    async def close(self) -> None:
        await self.runner.cleanup()

    async def __aenter__(self) -> RunningSandbox:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def start_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    client_id: str = "sandbox-client",
    client_secret: str = "sandbox-secret",  # noqa: S107 - a fixed value for local use only
    clock: Callable[[], datetime] | None = None,
    access_log: bool = False,
) -> RunningSandbox:
    """Serve the sandbox on ``host:port`` (0 = any free port) until ``close()``."""
    app = create_sandbox_app(client_id=client_id, client_secret=client_secret, clock=clock)
    runner = web.AppRunner(app) if access_log else web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = runner.addresses[0][1]
    shown_host = f"[{host}]" if ":" in host else host
    return RunningSandbox(
        url=f"http://{shown_host}:{bound_port}", state=app[STATE_KEY], app=app, runner=runner
    )

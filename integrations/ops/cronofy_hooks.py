"""Cronofy call latency and errors, observed where every attempt goes out: httpx `send`.

`CronofyClient` has no observer hook, and `integrations/cronofy` belongs to another
part of the work, so this wraps `send` on the client's own `httpx.AsyncClient` from the
outside. httpx event hooks would be the documented seam, but they never see a timeout
or a refused connection, which are the errors worth alerting on. When the client grows
a public hook this module is the only place to change.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from integrations.cronofy.client import CronofyClient
from integrations.ops.metrics import Metrics

_MARK = "_calbot_metrics"
# Path segments that are API words stay; anything else (ids like `chn_54794b98b2`,
# `cal_n23kj...`) becomes `{id}` so label values stay few and carry no identifiers.
_WORD = re.compile(r"^(?:v\d+|[a-z_]{1,32})$")


def path_template(path: str) -> str:
    parts = [p if _WORD.match(p) else "{id}" for p in path.split("/") if p]
    return "/" + "/".join(parts)


def error_kind(status: int) -> str | None:
    if status == 429:
        return "429"
    if status >= 500:
        return "5xx"
    if status >= 400:
        return "4xx"
    return None


def instrument_cronofy(client: CronofyClient, metrics: Metrics) -> bool:
    """Observe every HTTP attempt of `client`; False if its HTTP layer isn't reachable."""
    http = getattr(client, "_http", None)
    if not isinstance(http, httpx.AsyncClient) or getattr(http, _MARK, None) is not None:
        return False
    send = http.send

    async def observed_send(request: httpx.Request, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        path = path_template(request.url.path)
        try:
            response = await send(request, **kwargs)
        except httpx.TimeoutException:
            metrics.observe_cronofy(
                request.method, path, time.perf_counter() - started, error="timeout"
            )
            raise
        except httpx.TransportError:
            metrics.observe_cronofy(
                request.method, path, time.perf_counter() - started, error="network"
            )
            raise
        metrics.observe_cronofy(
            request.method,
            path,
            time.perf_counter() - started,
            error=error_kind(response.status_code),
        )
        return response

    # An instance attribute shadows the class method: httpx's `request()` calls `self.send`.
    setattr(http, "send", observed_send)  # noqa: B010
    setattr(http, _MARK, metrics)
    return True

"""Prometheus metrics: one registry per runtime, served at `GET /metrics`.

Tests build many runtimes in one process, so nothing here touches prometheus-client's
global default registry. Request metrics come from an aiohttp middleware labelled with
the route's canonical path (`/connect/{token}`), never the raw URL: a connect token in a
label value would leak it to anyone who can read the metrics and explode cardinality.
Gauges that need the database are computed when scraped, one cheap query each, so a
second instance behind the load balancer reports the same numbers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.ports import Clock
from storage import models as m

if TYPE_CHECKING:
    from integrations.runtime import Runtime

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
# Slack wants an ack within 3 s and Teams within 15 s; the buckets resolve both.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0)
CRONOFY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
CONNECTION_STATES = ("connected", "needs_relink", "revoked")
UNMATCHED = "unmatched"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

Probe = Callable[["Metrics"], Awaitable[None]]


class Metrics:
    """The metric families of one runtime, on their own `CollectorRegistry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "calbot_http_requests",
            "HTTP requests served, by route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "calbot_http_request_duration_seconds",
            "Time to answer an HTTP request; for /slack/events and /api/messages this is "
            "the ack latency, since slow work runs after the ack.",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.cronofy_seconds = Histogram(
            "calbot_cronofy_request_duration_seconds",
            "Cronofy HTTP calls (each attempt), by method and path template.",
            ["method", "path"],
            buckets=CRONOFY_BUCKETS,
            registry=r,
        )
        self.cronofy_errors = Counter(
            "calbot_cronofy_errors",
            "Cronofy HTTP attempts that failed: 4xx, 429, 5xx, timeout or network.",
            ["method", "path", "kind"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            "calbot_outbox_pending", "Outbox messages waiting to be delivered.", registry=r
        )
        self.outbox_oldest_age = Gauge(
            "calbot_outbox_oldest_pending_age_seconds",
            "Age of the oldest undelivered outbox message (0 when none).",
            registry=r,
        )
        self.connections = Gauge(
            "calbot_calendar_connections",
            "Calendar connections by state.",
            ["state"],
            registry=r,
        )
        self.open_incidents = Gauge(
            "calbot_consent_incidents_open",
            "Consent incidents that are open or marked fixed but not yet confirmed.",
            registry=r,
        )
        self.probe_errors = Counter(
            "calbot_metrics_probe_errors",
            "Scrape-time probes (database queries) that failed.",
            ["probe"],
            registry=r,
        )
        # Wired by the consent feature; until then the gauge reads 0.
        self.open_incidents_source: Callable[[], Awaitable[int]] | None = None
        self._probes: list[tuple[str, Probe]] = []
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        for state in CONNECTION_STATES:
            self.connections.labels(state=state).set(0)

    # --- recording -------------------------------------------------------------------

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        # `labels()` validates and locks on every call; the children are few (routes ×
        # methods × statuses) and live as long as the registry, so look each up once.
        method = method if method in HTTP_METHODS else "other"  # any token is a method
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self.requests.labels(method=method, route=route, status=str(status)),
                self.request_seconds.labels(method=method, route=route),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_cronofy(
        self, method: str, path: str, seconds: float, *, error: str | None = None
    ) -> None:
        self.cronofy_seconds.labels(method=method, path=path).observe(seconds)
        if error is not None:
            self.cronofy_errors.labels(method=method, path=path, kind=error).inc()

    # --- scrape ----------------------------------------------------------------------

    def add_probe(self, name: str, probe: Probe) -> None:
        self._probes.append((name, probe))

    async def refresh(self) -> None:
        """Run every scrape-time probe; a failing one is counted, never fails the scrape."""
        for name, probe in self._probes:
            try:
                await probe(self)
            except Exception as exc:
                self.probe_errors.labels(probe=name).inc()
                log.warning("metrics probe %s failed: %s", name, type(exc).__name__)
        source = self.open_incidents_source
        try:
            self.open_incidents.set(await source() if source is not None else 0)
        except Exception as exc:
            self.probe_errors.labels(probe="consent_incidents").inc()
            log.warning("metrics probe consent_incidents failed: %s", type(exc).__name__)

    def render(self, accept: str = "") -> tuple[bytes, str]:
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type


METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)


# --- HTTP ----------------------------------------------------------------------------


def route_label(request: web.Request) -> str:
    """The matched route's template, e.g. `/connect/{token}`; `unmatched` for 404/405."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def metrics_middleware(metrics: Metrics) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500  # an unexpected exception becomes aiohttp's 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away first (nginx's code for it)
            raise
        finally:
            metrics.observe_request(
                request.method, route_label(request), status, time.perf_counter() - started
            )

    return middleware


async def metrics_handler(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    await metrics.refresh()
    body, content_type = metrics.render(request.headers.get("Accept", ""))
    return web.Response(body=body, headers={"Content-Type": content_type})


def install_web_metrics(app: web.Application) -> Metrics:
    """Request ids, request metrics and `GET /metrics` on a not-yet-started app."""
    from integrations.ops.request_id import request_id_middleware

    metrics = Metrics()
    app[METRICS] = metrics
    # Request id outermost, so the metrics middleware and every handler log with it.
    app.middlewares.append(request_id_middleware)
    app.middlewares.append(metrics_middleware(metrics))
    app.router.add_get(METRICS_PATH, metrics_handler)
    return metrics


# --- database gauges -----------------------------------------------------------------


def outbox_probe(engine: AsyncEngine, clock: Clock) -> Probe:
    async def probe(metrics: Metrics) -> None:
        stmt = select(func.count(), func.min(m.OutboxMessage.created_at)).where(
            m.OutboxMessage.status == "pending"
        )
        async with engine.connect() as conn:
            count, oldest = (await conn.execute(stmt)).one()
        metrics.outbox_pending.set(count or 0)
        metrics.outbox_oldest_age.set(_age_seconds(clock.now(), oldest))

    return probe


def connections_probe(engine: AsyncEngine) -> Probe:
    async def probe(metrics: Metrics) -> None:
        stmt = select(m.CalendarConnection.state, func.count()).group_by(m.CalendarConnection.state)
        async with engine.connect() as conn:
            counts = {str(state): int(n) for state, n in (await conn.execute(stmt)).all()}
        for state in {*CONNECTION_STATES, *counts}:
            metrics.connections.labels(state=state).set(counts.get(state, 0))

    return probe


def _age_seconds(now: datetime, oldest: datetime | None) -> float:
    if oldest is None:
        return 0.0
    return max((now - oldest).total_seconds(), 0.0)


def instrument_runtime(runtime: Runtime) -> Metrics | None:
    """Attach the database gauges and the Cronofy hook to the runtime's `/metrics`."""
    from integrations.ops.cronofy_hooks import instrument_cronofy

    metrics = runtime.web.get(METRICS)
    if metrics is None:
        return None
    metrics.add_probe("outbox", outbox_probe(runtime.engine, runtime.clock))
    metrics.add_probe("connections", connections_probe(runtime.engine))
    instrument_cronofy(runtime.calendar, metrics)
    runtime.extras["metrics"] = metrics
    return metrics

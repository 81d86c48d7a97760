"""The composition root: builds the core and its adapters from the settings.

Nothing here runs at import time; `build_runtime` wires everything explicitly so tests
can build as many independent runtimes as they like.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import SystemClock
from bot.connect import ConnectFlow
from bot.consent import ConsentService
from bot.digest import DigestService
from bot.dispatch import Bot
from bot.health import HealthService, open_channel_after_connect
from bot.jobs import JobRegistry
from bot.outbox import OutboxWorker
from bot.ports import ChatPort, Clock
from bot.propose import ProposeService
from bot.records import ConnectionCheck
from bot.settings import Settings
from bot.team import TeamService
from integrations.cronofy.client import CronofyClient
from integrations.entra.advisor import EntraAdvisor, TenantLookup
from integrations.entra.tenants import FakeTenantDirectory, OpenIdTenantDirectory
from integrations.web.app import create_web_app
from storage.crypto import StateSigner, TokenCipher, generate_key
from storage.db import make_engine, make_sessionmaker
from storage.migrate import head_revision
from storage.repository import SqlStore

log = logging.getLogger(__name__)

SANDBOX_CLIENT_ID = "calbot-sandbox"
DIGEST_CHECK_SECONDS = 900  # a digest goes out within 15 minutes of 09:00 Monday
SANDBOX_KEY_FILE = Path(".sandbox-key")


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    store: SqlStore
    clock: Clock
    calendar: CronofyClient
    bot: Bot
    connect: ConnectFlow
    outbox: OutboxWorker
    web: web.Application
    health: HealthService
    jobs: JobRegistry
    chats: dict[str, ChatPort] = field(default_factory=dict)
    sandbox: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    async def close(self) -> None:
        for closer in reversed(self.extras.get("closers", [])):
            await closer()
        await self.calendar.aclose()
        if self.sandbox is not None:
            await self.sandbox.close()
        await self.engine.dispose()


def encryption_keys(settings: Settings) -> str:
    """The configured keys, or (sandbox only) a key generated once and kept beside the data."""
    if settings.TOKEN_ENCRYPTION_KEY:
        return settings.TOKEN_ENCRYPTION_KEY
    if SANDBOX_KEY_FILE.exists():
        return SANDBOX_KEY_FILE.read_text().strip()
    key = generate_key()
    SANDBOX_KEY_FILE.write_text(key + "\n")
    SANDBOX_KEY_FILE.chmod(0o600)
    return key


async def build_calendar(settings: Settings) -> tuple[CronofyClient, Any]:
    """Real Cronofy when CRONOFY_CLIENT_ID is set; otherwise the built-in sandbox."""
    if not settings.uses_cronofy_sandbox:
        client = CronofyClient(
            client_id=settings.CRONOFY_CLIENT_ID or "",
            client_secret=settings.CRONOFY_CLIENT_SECRET or "",
            data_center=settings.CRONOFY_DATA_CENTER,
            api_url=settings.CRONOFY_API_URL,
            app_url=settings.CRONOFY_APP_URL,
        )
        return client, None
    secret = settings.CRONOFY_CLIENT_SECRET or "sandbox-secret"
    sandbox = None
    api_url = settings.CRONOFY_API_URL
    if not api_url:
        from integrations.cronofy.sandbox import start_sandbox

        sandbox = await start_sandbox(client_id=SANDBOX_CLIENT_ID, client_secret=secret)
        api_url = sandbox.url
    client = CronofyClient(
        client_id=SANDBOX_CLIENT_ID,
        client_secret=secret,
        api_url=api_url,
        app_url=settings.CRONOFY_APP_URL or api_url,
    )
    return client, sandbox


async def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    chats: dict[str, ChatPort] | None = None,
    tenant_directory: Any = None,
) -> Runtime:
    clock = clock or SystemClock()
    engine = make_engine(settings.DATABASE_URL)
    keys = encryption_keys(settings)
    store = SqlStore(make_sessionmaker(engine), TokenCipher(keys), clock)
    calendar, sandbox = await build_calendar(settings)
    chat_ports: dict[str, ChatPort] = dict(chats or {})
    workers: list[OutboxWorker] = []

    def wake() -> None:
        for worker in workers:
            worker.wake()

    connect = ConnectFlow(
        store=store,
        calendar=calendar,
        signer=StateSigner(keys),
        clock=clock,
        public_base_url=settings.PUBLIC_BASE_URL,
        callback_url=settings.oauth_callback_url,
        link_ttl=timedelta(days=settings.CALBOT_LINK_TTL_DAYS),
        wake_outbox=wake,
    )
    team = TeamService(
        store=store,
        chats=chat_ports,
        clock=clock,
        connect=connect,
        admins=settings.admin_ids,
        stalled_after=timedelta(minutes=settings.CALBOT_STALLED_CONNECT_MINUTES),
        wake_outbox=wake,
    )
    consent = ConsentService(
        store=store,
        chats=chat_ports,
        clock=clock,
        advisor=EntraAdvisor(),
        tenants=TenantLookup(tenant_directory or _tenant_directory(settings)),
        connect=connect,
        is_admin=team.is_admin,
        admins=settings.admin_ids,
        alert_channel=settings.CALBOT_ALERT_CHANNEL,
        stalled_after=timedelta(minutes=settings.CALBOT_STALLED_CONNECT_MINUTES),
        wake_outbox=wake,
    )
    propose = ProposeService(
        store=store,
        chats=chat_ports,
        calendar=calendar,
        clock=clock,
        ttl=timedelta(hours=settings.CALBOT_PROPOSAL_TTL_HOURS),
        wake_outbox=wake,
    )
    propose.send_link = connect.send_link
    digest = DigestService(
        store=store,
        chats=chat_ports,
        clock=clock,
        team=team,
        wake_outbox=wake,
    )
    bot = Bot(
        store=store, connect=connect, team=team, consent=consent, propose=propose, digest=digest
    )
    health = HealthService(
        store=store,
        calendar=calendar,
        clock=clock,
        public_base_url=settings.PUBLIC_BASE_URL,
        interval=timedelta(seconds=settings.CALBOT_HEALTH_INTERVAL_SECONDS),
        wake_outbox=wake,
    )

    async def after_connect(user_id: int) -> None:
        await open_channel_after_connect(health, store, user_id)
        await consent.on_connected(user_id)
        await team.on_connected(user_id)

    async def on_revoked(check: ConnectionCheck) -> None:
        await consent.on_invalid_grant(check.user)

    connect.after_connect = after_connect
    connect.after_denied = consent.on_oauth_error
    health.on_revoked = on_revoked

    async def ready_check() -> str | None:
        from storage.migrate import current_revision

        try:
            current = await current_revision(settings.DATABASE_URL)
        except Exception as exc:
            return f"database unreachable ({type(exc).__name__})"
        if current != head_revision():
            return "database not migrated"
        return None

    app = create_web_app(connect=connect, health=health, ready_check=ready_check)
    outbox = OutboxWorker(
        store,
        chat_ports,
        clock,
        on_batch_progress=team.on_batch_progress,
        concurrency=settings.CALBOT_OUTBOX_CONCURRENCY,
    )
    workers.append(outbox)
    jobs = JobRegistry()

    async def deliver_everything_due() -> None:
        # By hand (`jobs run outbox`), deliver until nothing is due, however long that is.
        await outbox.drain(max_seconds=3600)

    jobs.add(
        "outbox",
        "deliver queued chat messages",
        deliver_everything_due,
        settings.CALBOT_OUTBOX_INTERVAL_SECONDS,
    )
    jobs.add(
        "stalled",
        "ask people whose connect link was opened but never finished what Microsoft showed",
        consent.run_stalled,
        60,
    )
    jobs.add(
        "expire",
        "expire stale proposals and resume interrupted bookings",
        propose.run_expiry,
        60,
    )
    jobs.add(
        "digest",
        "send admins their weekly digest of teams below their threshold (Monday 09:00 local)",
        digest.run_due,
        DIGEST_CHECK_SECONDS,
    )
    jobs.add(
        "health",
        "refresh tokens and check every calendar connection",
        health.run_once,
        settings.CALBOT_HEALTH_INTERVAL_SECONDS,
    )
    runtime = Runtime(
        settings=settings,
        engine=engine,
        store=store,
        clock=clock,
        calendar=calendar,
        bot=bot,
        connect=connect,
        outbox=outbox,
        web=app,
        chats=chat_ports,
        sandbox=sandbox,
        health=health,
        jobs=jobs,
    )
    _mount_chat_adapters(runtime)
    # /metrics: database gauges (computed when scraped) and Cronofy call timings.
    from integrations.ops.metrics import instrument_runtime

    instrument_runtime(runtime)
    runtime.extras["metrics"].open_incidents_source = store.open_incident_count
    return runtime


DEMO_TENANTS = {"contoso.com": "8f3e0a6c-4c1b-4d8e-9a51-2f6f0c1b7d42"}


def _tenant_directory(settings: Settings) -> Any:
    """Microsoft's public discovery document in production; a fixed map with the sandbox,
    so the demo and the tests never leave the machine."""
    if settings.uses_cronofy_sandbox:
        return FakeTenantDirectory(DEMO_TENANTS)
    return OpenIdTenantDirectory()


def _mount_chat_adapters(runtime: Runtime) -> None:
    """Each chat platform adds its routes and registers its ChatPort, if configured."""
    from integrations import slack, teams

    for platform in (slack, teams):
        mount = getattr(platform, "mount", None)
        if mount is not None:
            mount(runtime)

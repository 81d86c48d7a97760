"""calbot's command line: serve, demo, console, db upgrade, jobs.

python app.py serve          # HTTP server for Slack, Teams and the web pages
python app.py demo           # migrate a SQLite database, serve, and open the console chat
python app.py console        # the console chat against the configured database
python app.py db upgrade     # apply database migrations
python app.py jobs list|run NAME
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from aiohttp import web

from bot.settings import ConfigError, Settings, load_settings

log = logging.getLogger("calbot")


def _configure_logging(settings: Settings) -> None:
    from integrations.logging import configure_logging

    configure_logging(settings.LOG_LEVEL)


async def _start_http(runtime: object, host: str, port: int) -> web.AppRunner:
    from integrations.runtime import Runtime

    assert isinstance(runtime, Runtime)
    runner = web.AppRunner(runtime.web, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def _serve(settings: Settings, *, console: bool, migrate: bool) -> int:
    from integrations.runtime import build_runtime
    from storage.migrate import NotMigrated, ensure_migrated, upgrade_async

    if migrate:
        await upgrade_async(settings.DATABASE_URL)
    try:
        await ensure_migrated(settings.DATABASE_URL)
    except NotMigrated as exc:
        print(f"calbot: {exc}", file=sys.stderr)
        return 1

    chats = {}
    console_chat = None
    if console:
        from integrations.console.repl import make_console_chat

        console_chat = make_console_chat()
        chats["console"] = console_chat
    runtime = await build_runtime(settings, chats=chats)  # type: ignore[arg-type]
    runner = await _start_http(runtime, settings.HOST, settings.PORT)
    outbox_task = asyncio.create_task(
        runtime.outbox.run(settings.CALBOT_OUTBOX_INTERVAL_SECONDS), name="outbox"
    )
    from integrations.scheduler import start_scheduler

    # The outbox has its own loop (woken on enqueue); the scheduler runs the rest.
    scheduler = start_scheduler(runtime.jobs, skip=frozenset({"outbox"}))
    for starter in runtime.extras.get("starters", []):
        await starter()
    print(f"calbot listening on {settings.HOST}:{settings.PORT} ({settings.PUBLIC_BASE_URL})")
    for surface, state in settings.surfaces().items():
        print(f"  {surface:8} {state}")
    if runtime.sandbox is not None:
        print(f"  sandbox  Cronofy sandbox at {runtime.sandbox.url}")
    try:
        if console_chat is not None:
            from integrations.console.repl import Repl
            from integrations.console.session import ConsoleSession

            session = ConsoleSession(runtime.bot, console_chat)
            sandbox_url = runtime.sandbox.url if runtime.sandbox is not None else None
            repl = Repl(session, sandbox_url=sandbox_url, settle=runtime.outbox.drain)
            await repl.run()
        else:
            await _wait_for_signal()
    finally:
        scheduler.shutdown(wait=False)
        outbox_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await outbox_task
        await runner.cleanup()
        await runtime.close()
    return 0


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _jobs(settings: Settings, name: str | None) -> int:
    from integrations.runtime import build_runtime
    from storage.migrate import NotMigrated, ensure_migrated

    try:
        await ensure_migrated(settings.DATABASE_URL)
    except NotMigrated as exc:
        print(f"calbot: {exc}", file=sys.stderr)
        return 1
    runtime = await build_runtime(settings)
    try:
        if name is None:
            for job in runtime.jobs:
                print(f"{job.name:10} every {job.interval_seconds:g}s  {job.description}")
            return 0
        if name not in runtime.jobs.names():
            print(
                f"calbot: no job {name!r}; try: {', '.join(runtime.jobs.names())}", file=sys.stderr
            )
            return 2
        result = await runtime.jobs.get(name).run()
        print(f"{name}: done" + (f" ({result})" if result is not None else ""))
        return 0
    finally:
        await runtime.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="calbot", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the HTTP server (Slack, Teams, web pages)")
    sub.add_parser("demo", help="migrate, serve and open the console chat (no accounts needed)")
    sub.add_parser("console", help="the console chat against the configured database")
    db = sub.add_parser("db", help="database commands")
    db.add_argument("action", choices=["upgrade", "current"])
    jobs = sub.add_parser("jobs", help="scheduled jobs")
    jobs.add_argument("action", choices=["list", "run"])
    jobs.add_argument("name", nargs="?")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"calbot: configuration error: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings)

    if args.command == "serve":
        return asyncio.run(_serve(settings, console=False, migrate=False))
    if args.command == "demo":
        return asyncio.run(_serve(settings, console=True, migrate=True))
    if args.command == "console":
        return asyncio.run(_serve(settings, console=True, migrate=False))
    if args.command == "db":
        from storage.migrate import current_revision, head_revision, upgrade

        if args.action == "upgrade":
            upgrade(settings.DATABASE_URL)
            print(f"database upgraded to {head_revision()}")
        else:
            print(asyncio.run(current_revision(settings.DATABASE_URL)) or "none")
        return 0
    if args.command == "jobs":
        if args.action == "run" and not args.name:
            parser.error("jobs run needs a job name (see `jobs list`)")
        return asyncio.run(_jobs(settings, args.name if args.action == "run" else None))
    return 1


if __name__ == "__main__":
    sys.exit(main())

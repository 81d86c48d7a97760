"""calbot's command line: serve, demo, console, db upgrade, jobs.

python app.py serve          # HTTP server for Slack, Teams and the web pages
python app.py demo           # migrate a SQLite database, serve, and open the console chat
python app.py console        # the console chat against the configured database
python app.py db upgrade     # apply database migrations
python app.py jobs list|run NAME
python app.py doctor         # check settings, database, key, Slack, Teams, Cronofy, public URL
python app.py teams-package  # build the Teams app zip (manifest + icons)
python app.py export --team T  # a team's connection status as CSV
python app.py slack-manifest # manifest.yml with PUBLIC_BASE_URL filled in, for Slack's UI
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
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
    # Everything built so far lives as long as the process: keep it out of the garbage
    # collector's full passes, which otherwise pause a burst of Slack acks for 100+ ms
    # (bench/bench_latency.py).
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    runner = await _start_http(runtime, settings.HOST, settings.PORT)
    # Two loops overlap one batch's database work with the next batch's sends.
    outbox_tasks = [
        asyncio.create_task(
            runtime.outbox.run(settings.CALBOT_OUTBOX_INTERVAL_SECONDS), name=f"outbox-{n}"
        )
        for n in range(settings.CALBOT_OUTBOX_LOOPS)
    ]
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
        for task in outbox_tasks:
            task.cancel()
        for task in outbox_tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
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


async def _keys(settings: Settings, action: str) -> int:
    from storage.crypto import TokenCipher, generate_key

    if action == "generate":
        print(generate_key())
        print(
            "Put it first in TOKEN_ENCRYPTION_KEY (comma-separated, newest first), restart, "
            "then run `python app.py keys rotate`.",
            file=sys.stderr,
        )
        return 0
    from storage.db import make_engine, make_sessionmaker
    from storage.migrate import NotMigrated, ensure_migrated
    from storage.repository import SqlStore

    if not settings.TOKEN_ENCRYPTION_KEY:
        print(
            "calbot: TOKEN_ENCRYPTION_KEY: set the new key first, then the old ones",
            file=sys.stderr,
        )
        return 2
    try:
        await ensure_migrated(settings.DATABASE_URL)
    except NotMigrated as exc:
        print(f"calbot: {exc}", file=sys.stderr)
        return 1
    engine = make_engine(settings.DATABASE_URL)
    try:
        store = SqlStore(make_sessionmaker(engine), TokenCipher(settings.TOKEN_ENCRYPTION_KEY))
        count = await store.rotate_keys()
        # Slack's OAuth tables are slack-sdk's, outside the Store; their tokens too.
        from storage.slack_installations import rotate_slack_tokens

        count += await rotate_slack_tokens(engine, TokenCipher(settings.TOKEN_ENCRYPTION_KEY))
    finally:
        await engine.dispose()
    print(f"re-encrypted {count} rows with the newest key; the old keys can now be removed")
    return 0


def _slack_manifest(settings: Settings) -> int:
    from integrations.slack.manifest import ManifestError, render_manifest

    try:
        text = render_manifest(settings.PUBLIC_BASE_URL, socket_mode=bool(settings.SLACK_APP_TOKEN))
    except ManifestError as exc:
        print(f"calbot: {exc}", file=sys.stderr)
        return 1
    print(text, end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="calbot", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the HTTP server (Slack, Teams, web pages)")
    sub.add_parser("demo", help="migrate, serve and open the console chat (no accounts needed)")
    sub.add_parser("console", help="the console chat against the configured database")
    db = sub.add_parser("db", help="database commands")
    db.add_argument("action", choices=["upgrade", "current"])
    keys = sub.add_parser("keys", help="token encryption keys")
    keys.add_argument("action", choices=["generate", "rotate"])
    jobs = sub.add_parser("jobs", help="scheduled jobs")
    jobs.add_argument("action", choices=["list", "run"])
    jobs.add_argument("name", nargs="?")
    sub.add_parser("slack-manifest", help="print manifest.yml with PUBLIC_BASE_URL filled in")
    from integrations.ops import cli as ops_cli

    ops_cli.add_parsers(sub)
    args = parser.parse_args(argv)
    if args.command == "doctor":  # reports a bad setting as a ✗ line itself
        return ops_cli.doctor()

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"calbot: configuration error: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings)

    if args.command in ops_cli.COMMANDS:
        return ops_cli.run(args, settings)
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
    if args.command == "keys":
        return asyncio.run(_keys(settings, args.action))
    if args.command == "slack-manifest":
        return _slack_manifest(settings)
    if args.command == "jobs":
        if args.action == "run" and not args.name:
            parser.error("jobs run needs a job name (see `jobs list`)")
        return asyncio.run(_jobs(settings, args.name if args.action == "run" else None))
    return 1


if __name__ == "__main__":
    sys.exit(main())

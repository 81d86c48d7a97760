"""The operations subcommands of `app.py`: doctor, teams-package, export.

Kept here so `app.py` only registers the parsers and dispatches; imports are lazy so
`app.py --help` and the other commands don't pay for them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from bot.settings import Settings

COMMANDS = frozenset({"teams-package", "export"})


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub.add_parser(
        "doctor",
        help="check configuration, database, key, Slack, Teams, Cronofy and the public URL",
    )
    pkg = sub.add_parser("teams-package", help="build the Teams app package (zip)")
    pkg.add_argument("--out", default="calbot-teams.zip", help="zip to write")
    pkg.add_argument("--app-version", help="manifest version (semver; default: calbot's)")
    pkg.add_argument("--developer", default="calbot", help="developer name shown in Teams")
    pkg.add_argument("--website-url", help="default: PUBLIC_BASE_URL")
    pkg.add_argument("--privacy-url", help="default: PUBLIC_BASE_URL")
    pkg.add_argument("--terms-url", help="default: PUBLIC_BASE_URL")
    export = sub.add_parser("export", help="a team's calendar connection status as CSV")
    export.add_argument(
        "--team",
        required=True,
        help="everyone | #channel | channel:ID | usergroup:ID | conversation:ID (Teams)",
    )
    export.add_argument("--platform", choices=["slack", "teams", "console"])
    export.add_argument("--workspace", help="Slack team id or Teams tenant id")
    export.add_argument("--out", help="file to write (default: standard output)")


def doctor() -> int:
    from integrations.ops.doctor import run_doctor

    return run_doctor()


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "teams-package":
        return teams_package(args, settings)
    if args.command == "export":
        return asyncio.run(export(args, settings))
    raise ValueError(args.command)


def teams_package(args: argparse.Namespace, settings: Settings) -> int:
    from integrations.ops.teams_package import (
        Developer,
        PackageError,
        build_manifest,
        build_package,
        public_url_warning,
    )

    developer = Developer(
        name=args.developer,
        website_url=args.website_url,
        privacy_url=args.privacy_url,
        terms_url=args.terms_url,
    )
    try:
        manifest = build_manifest(settings, developer=developer, version=args.app_version)
    except PackageError as exc:
        print(f"calbot: {exc}", file=sys.stderr)
        return 2
    warning = public_url_warning(settings)
    if warning:
        print(warning, file=sys.stderr)
    out = Path(args.out)
    out.write_bytes(build_package(manifest))
    bot = manifest["bots"][0]
    print(
        f"wrote {out} (manifest v{manifest['manifestVersion']}, app {manifest['version']}, "
        f"bot {bot['botId']}, scopes {', '.join(bot['scopes'])})"
    )
    return 0


async def export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.errors import ChatError
    from integrations.ops.export import parse_team, team_rows, to_csv
    from integrations.runtime import build_runtime
    from storage.migrate import NotMigrated, ensure_migrated

    try:
        await ensure_migrated(settings.DATABASE_URL)
    except NotMigrated as exc:
        print(f"calbot: {exc}", file=sys.stderr)
        return 1
    platform = args.platform or _default_platform(settings)
    chats = {}
    if platform == "console":
        from integrations.console.chat import demo_chat

        chats["console"] = demo_chat()  # the roster `app.py demo` uses
    runtime = await build_runtime(settings, chats=chats)  # type: ignore[arg-type]
    try:
        chat = runtime.chats.get(platform)
        if chat is None:
            print(f"calbot: {platform} is not configured", file=sys.stderr)
            return 2
        workspace = args.workspace or await _default_workspace(runtime, platform)
        if not workspace:
            print(f"calbot: --workspace is required for {platform}", file=sys.stderr)
            return 2
        try:
            rows = await team_rows(
                chat=chat,
                store=runtime.store,
                clock=runtime.clock,
                platform=platform,
                workspace_id=workspace,
                team=parse_team(args.team),
                stalled_after=timedelta(minutes=settings.CALBOT_STALLED_CONNECT_MINUTES),
            )
        except ChatError as exc:
            print(f"calbot: couldn't list {args.team}: {exc}", file=sys.stderr)
            return 1
        text = to_csv(rows)
        if args.out:
            await asyncio.to_thread(Path(args.out).write_text, text, encoding="utf-8")
            print(f"wrote {len(rows)} rows to {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    finally:
        await runtime.close()


def _default_platform(settings: Settings) -> str:
    if settings.slack_enabled:
        return "slack"
    if not settings.teams_local_mode:
        return "teams"
    return "console"


async def _default_workspace(runtime: object, platform: str) -> str | None:
    """Console: its one workspace. Slack with one bot token: the team `auth.test` names."""
    if platform == "console":
        from integrations.console.chat import WORKSPACE

        return WORKSPACE
    if platform == "slack":
        adapter = getattr(runtime, "extras", {}).get("slack")
        tokens = getattr(adapter, "tokens", None)
        if tokens is not None:
            identity = await tokens.lookup(team_id=None, enterprise_id=None)
            return identity.team_id if identity is not None else None
    return None

"""`python app.py doctor`: is this deployment able to work? A ✓/✗ table, exit 1 on a ✗.

    ✓  passed      ✗  failed (exit status 1)      –  skipped or not applicable

The checks run one after another (later ones use what earlier ones found: the key
check reads a stored token only from a migrated database) and each has a deadline, so
doctor always finishes and always prints a table, never a traceback.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TextIO

from bot.settings import ConfigError, Settings, load_settings
from integrations.ops import checks, service_checks
from integrations.ops.checks import Check, Context

CHECK_TIMEOUT = 20.0
MARKS = {"ok": "✓", "fail": "✗", "skip": "–"}
ASCII_MARKS = {"ok": "OK", "fail": "FAIL", "skip": "-"}

CheckFn = Callable[[Context], Awaitable[Check | None]]

# Order matters: `database` records whether the schema is current for `encryption_key`.
CHECKS: list[tuple[str, CheckFn]] = [
    ("database", checks.database),
    ("encryption key", checks.encryption_key),
    ("slack", service_checks.slack),
    ("slack socket mode", service_checks.slack_socket_mode),
    ("teams", service_checks.teams),
    ("cronofy", service_checks.cronofy),
    ("public URL", checks.public_url),
]


async def run_checks(ctx: Context) -> list[Check]:
    results = [checks.configuration(ctx.settings)]
    for name, check in CHECKS:
        result = await _guarded(name, check, ctx)
        if result is not None:
            results.append(result)
    return results


async def _guarded(name: str, check: CheckFn, ctx: Context) -> Check | None:
    try:
        return await asyncio.wait_for(check(ctx), CHECK_TIMEOUT)
    except TimeoutError:
        return checks.fail(name, f"did not finish within {CHECK_TIMEOUT:g} s")
    except Exception as exc:
        # A bug or an unforeseen failure in a check is still a line in the table.
        return checks.fail(name, f"check crashed: {checks.describe_error(exc)}")


def format_table(results: Sequence[Check], *, ascii_only: bool = False) -> str:
    marks = ASCII_MARKS if ascii_only else MARKS
    width = max(len(r.name) for r in results)
    mark_width = max(len(m) for m in marks.values())
    lines = ["calbot doctor"]
    for r in results:
        lines.append(f"  {marks[r.status]:<{mark_width}}  {r.name:<{width}}  {r.detail}")
        if r.hint:
            lines.append(f"  {'':<{mark_width}}  {'':<{width}}  → {r.hint}")
    failed = sum(r.status == "fail" for r in results)
    skipped = sum(r.status == "skip" for r in results)
    if failed:
        lines.append(f"{failed} problem{'s' if failed != 1 else ''} found.")
    else:
        lines.append("No problems found" + (f" ({skipped} skipped)." if skipped else "."))
    return "\n".join(lines)


def exit_code(results: Sequence[Check]) -> int:
    return 1 if any(r.status == "fail" for r in results) else 0


def _can_print(stream: TextIO, text: str) -> bool:
    try:
        text.encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def run_doctor(
    *,
    load: Callable[[], Settings] = load_settings,
    out: TextIO | None = None,
    bot_token: Callable[[Settings], str] | None = None,
) -> int:
    """The CLI entry: load the settings (a failure is the first ✗), run, print, exit code."""
    stream = out or sys.stdout
    try:
        settings = load()
    except ConfigError as exc:
        results = [
            checks.fail("configuration", str(exc), "fix that variable in the environment or .env")
        ]
    else:
        ctx = Context(settings=settings, bot_token=bot_token)
        results = asyncio.run(run_checks(ctx))
    table = format_table(results)
    if not _can_print(stream, table):
        table = format_table(results, ascii_only=True)
    print(table, file=stream)
    return exit_code(results)

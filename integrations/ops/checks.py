"""The checks `python app.py doctor` runs on calbot itself: settings, database, key, URL.

Each returns a `Check`; none raises on purpose (the runner still turns a stray
exception into a ✗ line). Details never contain a secret: database URLs are shown
with the password hidden, API errors by their code only. The checks of the outside
services (Slack, Bot Framework, Cronofy) are in `service_checks.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.settings import Settings

Status = Literal["ok", "fail", "skip"]

PUBLIC_URL_TIMEOUT = 3.0


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    hint: str = ""


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def fail(name: str, detail: str, hint: str = "") -> Check:
    return Check(name, "fail", detail, hint)


def skip(name: str, detail: str) -> Check:
    return Check(name, "skip", detail)


@dataclass
class Context:
    """What the checks share: the settings and knobs tests (and operators) can turn."""

    settings: Settings
    # Replaces Bot Framework token acquisition (tests: the network to Microsoft is not
    # reachable, and must not be tried). Takes the settings, returns a token or raises.
    bot_token: Callable[[Settings], str] | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


# --- configuration ------------------------------------------------------------------


def configuration(settings: Settings) -> Check:
    """Loaded (the runner reports a load failure itself); summarise what is switched on."""
    s = settings
    if s.slack_enabled:
        slack_mode = "socket mode" if s.SLACK_APP_TOKEN else "HTTP"
    else:
        slack_mode = "off"
    if not s.teams_enabled:
        teams_mode = "off"
    else:
        teams_mode = "local mode" if s.teams_local_mode else s.MICROSOFT_APP_TYPE
    cronofy_mode = (
        "sandbox" if s.uses_cronofy_sandbox else f"Cronofy ({s.CRONOFY_DATA_CENTER or 'us'})"
    )
    return ok(
        "configuration",
        f"slack: {slack_mode} · teams: {teams_mode} · cronofy: {cronofy_mode} · "
        f"public URL {s.PUBLIC_BASE_URL}",
    )


# --- database -----------------------------------------------------------------------


async def database(ctx: Context) -> Check:
    from storage.migrate import current_revision, head_revision

    url = ctx.settings.DATABASE_URL
    shown = safe_url(url)
    sqlite_path = _sqlite_file(url)
    if sqlite_path is not None and not sqlite_path.exists():
        # Connecting would create an empty file: report instead of leaving one behind.
        return fail(
            "database",
            f"{shown}: the file does not exist",
            "run `python app.py db upgrade` to create it",
        )
    head = head_revision()
    try:
        current = await current_revision(url)
    except Exception as exc:
        return fail(
            "database",
            f"{shown}: unreachable ({type(exc).__name__})",
            "check DATABASE_URL, the server and the credentials",
        )
    ctx.facts["migrated"] = current == head
    if current != head:
        return fail(
            "database",
            f"{shown} is at migration {current or 'none'}, the code needs {head}",
            "run `python app.py db upgrade`",
        )
    return ok("database", f"{shown} at migration {current} (head)")


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


# --- encryption key -----------------------------------------------------------------


async def encryption_key(ctx: Context) -> Check:
    from storage.crypto import KeyError_, TokenCipher

    name = "encryption key"
    keys = _configured_keys(ctx.settings)
    if keys is None:
        return skip(name, "sandbox: no key yet; one is generated into .sandbox-key on first start")
    try:
        cipher = TokenCipher(keys)
        if cipher.decrypt(cipher.encrypt("calbot-doctor")) != "calbot-doctor":
            return fail(name, "encrypt/decrypt round trip returned something else")
    except KeyError_ as exc:
        return fail(
            name,
            str(exc),
            "make one with `python app.py keys generate`",
        )
    count = len([k for k in keys.split(",") if k.strip()])
    detail = f"{count} key{'s' if count > 1 else ''}, round trip ok"
    if not ctx.facts.get("migrated"):
        return ok(name, detail + "; stored tokens not checked (database not ready)")
    stored = await _one_stored_token(ctx.settings.DATABASE_URL)
    if stored is None:
        return ok(name, detail + "; no stored tokens yet")
    try:
        cipher.decrypt(stored)
    except KeyError_:
        return fail(
            name,
            "a stored token cannot be decrypted with TOKEN_ENCRYPTION_KEY",
            "the key that encrypted it is missing: list old keys after the new one "
            "(comma-separated) until `python app.py keys rotate` has run",
        )
    if count > 1 and not _decrypts_with_newest(keys, stored):
        return ok(name, detail + "; a stored token still uses an older key (run keys rotate)")
    return ok(name, detail + "; a stored token decrypts")


def _configured_keys(settings: Settings) -> str | None:
    if settings.TOKEN_ENCRYPTION_KEY:
        return settings.TOKEN_ENCRYPTION_KEY
    from integrations.runtime import SANDBOX_KEY_FILE

    if SANDBOX_KEY_FILE.exists():
        return SANDBOX_KEY_FILE.read_text().strip()
    return None


def _decrypts_with_newest(keys: str, ciphertext: str) -> bool:
    from storage.crypto import KeyError_, TokenCipher

    newest = next(k.strip() for k in keys.split(",") if k.strip())
    try:
        TokenCipher(newest).decrypt(ciphertext)
    except KeyError_:
        return False
    return True


async def _one_stored_token(url: str) -> str | None:
    from storage import models as m
    from storage.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            stmt = select(m.CalendarConnection.refresh_token_enc).limit(1)
            return (await conn.execute(stmt)).scalar()
    finally:
        await engine.dispose()


# --- public URL ---------------------------------------------------------------------


async def public_url(ctx: Context) -> Check:
    """GET PUBLIC_BASE_URL/healthz: can Slack, Teams and browsers reach this deployment?

    A ✗ only when it is certainly wrong: a calbot answers on this machine's PORT but
    not at PUBLIC_BASE_URL. When nothing answers anywhere, doctor is most likely running
    before `serve` (a pre-flight check, or a one-shot container): that is a "–".
    """
    s = ctx.settings
    url = f"{s.PUBLIC_BASE_URL}/healthz"
    problem = await _healthz(url)
    if problem is None:
        return ok("public URL", f"{url} answers")
    local = f"http://127.0.0.1:{s.PORT}/healthz"
    if await _healthz(local) is None:
        return fail(
            "public URL",
            f"{url}: {problem}, but calbot answers on port {s.PORT} here",
            "PUBLIC_BASE_URL must reach this server: check the load balancer, tunnel or DNS",
        )
    return skip(
        "public URL",
        f"{url}: {problem}; no calbot serving here either. Run doctor while `serve` "
        "runs to check the public URL",
    )


async def _healthz(url: str) -> str | None:
    try:
        async with httpx.AsyncClient(timeout=PUBLIC_URL_TIMEOUT, follow_redirects=False) as http:
            response = await http.get(url)
    except httpx.TimeoutException:
        return f"no answer within {PUBLIC_URL_TIMEOUT:g} s"
    except httpx.HTTPError as exc:
        return f"unreachable ({type(exc).__name__})"
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    try:
        healthy = response.json().get("status") == "ok"
    except (ValueError, AttributeError):
        healthy = False
    return None if healthy else "answered, but not like calbot's /healthz"


def describe_error(exc: BaseException) -> str:
    from integrations.logging import scrub

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = scrub(text)
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__

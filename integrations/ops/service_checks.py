"""The doctor's checks of the services calbot talks to: Slack, Bot Framework, Cronofy.

Each proves the configured credentials with the cheapest authenticated call there is
and reports a refusal by its error code, never with the secret that was refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

from bot.settings import Settings
from integrations.ops.checks import Check, Context, describe_error, fail, ok, skip

T = TypeVar("T")

HTTP_TIMEOUT = 5.0
BOT_TOKEN_TIMEOUT = 15.0
# A code Cronofy has never issued: the token endpoint answers `invalid_grant` if it
# accepted our client id and secret, `invalid_client` if it did not. Nothing is created.
DUMMY_CODE = "calbot-doctor-check"


# --- Slack --------------------------------------------------------------------------


async def slack(ctx: Context) -> Check:
    from slack_sdk.errors import SlackApiError

    from integrations.slack.app import client_factory

    s = ctx.settings
    if not (s.SLACK_BOT_TOKEN or s.SLACK_CLIENT_ID or s.SLACK_SIGNING_SECRET):
        return skip("slack", "not configured")
    if not s.SLACK_SIGNING_SECRET:
        return fail(
            "slack",
            "SLACK_SIGNING_SECRET is not set, so Slack stays off",
            "Slack app → Basic Information → Signing Secret",
        )
    if not s.SLACK_BOT_TOKEN:
        return skip("slack", "multi-workspace install: each workspace's token is checked on use")
    client = client_factory(s.SLACK_API_URL)(s.SLACK_BOT_TOKEN)
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        code = exc.response.get("error", "error") if exc.response is not None else "error"
        return fail(
            "slack",
            f"auth.test: {code}",
            "check SLACK_BOT_TOKEN (Slack app → OAuth & Permissions → Bot User OAuth Token)",
        )
    except Exception as exc:
        return fail(
            "slack",
            f"auth.test: Slack unreachable ({type(exc).__name__})",
            "check the network (and SLACK_API_URL if set)",
        )
    return ok(
        "slack",
        f"auth.test: workspace {auth.get('team')} ({auth.get('team_id')}) "
        f"as @{auth.get('user')} ({auth.get('user_id')})",
    )


async def slack_socket_mode(ctx: Context) -> Check | None:
    """Only when SLACK_APP_TOKEN is set: `apps.connections.open` proves the app token."""
    from slack_sdk.errors import SlackApiError

    from integrations.slack.app import client_factory

    token = ctx.settings.SLACK_APP_TOKEN
    if not token:
        return None
    client = client_factory(ctx.settings.SLACK_API_URL)(token)
    try:
        # Hands out a WebSocket URL and nothing else; no connection is opened here.
        await client.apps_connections_open(app_token=token)
    except SlackApiError as exc:
        code = exc.response.get("error", "error") if exc.response is not None else "error"
        return fail(
            "slack socket mode",
            f"apps.connections.open: {code}",
            "check SLACK_APP_TOKEN (an xapp- token with connections:write)",
        )
    except Exception as exc:
        return fail("slack socket mode", f"Slack unreachable ({type(exc).__name__})")
    return ok("slack socket mode", "app-level token accepted (apps.connections.open)")


# --- Teams (Bot Framework) ----------------------------------------------------------


async def teams(ctx: Context) -> Check:
    s = ctx.settings
    name = "teams"
    if not s.MICROSOFT_APP_ID:
        return skip(name, "not configured (MICROSOFT_APP_ID unset: local mode)")
    if s.MICROSOFT_APP_TYPE == "UserAssignedMSI":
        return skip(name, "managed identity: the token comes from Azure; check on the host")
    if not s.MICROSOFT_APP_PASSWORD:
        return fail(
            name,
            "MICROSOFT_APP_PASSWORD is not set",
            "Azure Bot → Configuration → Manage Password → a client secret",
        )
    acquire = ctx.bot_token or bot_framework_token
    try:
        await in_daemon_thread(lambda: acquire(s), BOT_TOKEN_TIMEOUT)
    except TimeoutError:
        return fail(
            name,
            f"no answer from Microsoft's login within {BOT_TOKEN_TIMEOUT:g} s",
            "check outbound HTTPS to login.microsoftonline.com",
        )
    except Exception as exc:
        return fail(name, f"token acquisition failed: {describe_error(exc)}", _teams_hint(s))
    tenant = s.MICROSOFT_APP_TENANT_ID if s.MICROSOFT_APP_TYPE == "SingleTenant" else None
    where = f"tenant {tenant}" if tenant else "botframework.com"
    return ok(
        name,
        f"Bot Framework token acquired for {s.MICROSOFT_APP_TYPE} app "
        f"{s.MICROSOFT_APP_ID} ({where})",
    )


def bot_framework_token(settings: Settings) -> str:
    """The same credentials the Teams adapter sends with (blocking MSAL call)."""
    from botframework.connector.auth import MicrosoftAppCredentials

    tenant = (
        settings.MICROSOFT_APP_TENANT_ID if settings.MICROSOFT_APP_TYPE == "SingleTenant" else None
    )
    credentials = MicrosoftAppCredentials(
        settings.MICROSOFT_APP_ID or "", settings.MICROSOFT_APP_PASSWORD or "", tenant
    )
    return str(credentials.get_access_token())


def _teams_hint(settings: Settings) -> str:
    if settings.MICROSOFT_APP_TYPE == "SingleTenant":
        return (
            "check MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD (not expired) and "
            "MICROSOFT_APP_TENANT_ID; the app registration must be single-tenant"
        )
    return (
        "check MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD (not expired); a single-tenant "
        "registration needs MICROSOFT_APP_TYPE=SingleTenant and MICROSOFT_APP_TENANT_ID"
    )


async def in_daemon_thread(fn: Callable[[], T], seconds: float) -> T:
    """Run a blocking call with a deadline, in a thread that can't hold up the exit.

    `asyncio.to_thread` would do, except that interpreter exit joins its worker: a
    login call hanging on the network would then keep `doctor` from ever finishing.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        try:
            outcome: tuple[T | None, BaseException | None] = (fn(), None)
        except BaseException as exc:
            outcome = (None, exc)
        # The caller may have given up and its loop closed meanwhile: nobody to tell.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name="doctor-probe", daemon=True).start()
    return await asyncio.wait_for(future, seconds)


# --- Cronofy ------------------------------------------------------------------------


async def cronofy(ctx: Context) -> Check:
    from bot.errors import CalendarAuthError, CalendarError, CalendarUnavailable, InvalidGrant
    from integrations.cronofy.client import CronofyClient

    s = ctx.settings
    if s.uses_cronofy_sandbox:
        return skip("cronofy", "sandbox (built-in; no Cronofy account to check)")
    client = CronofyClient(
        client_id=s.CRONOFY_CLIENT_ID or "",
        client_secret=s.CRONOFY_CLIENT_SECRET or "",
        data_center=s.CRONOFY_DATA_CENTER,
        api_url=s.CRONOFY_API_URL,
        app_url=s.CRONOFY_APP_URL,
        timeout=HTTP_TIMEOUT,
        max_attempts=1,
    )
    where = client.api_url
    try:
        await client.exchange_code(code=DUMMY_CODE, redirect_uri=s.oauth_callback_url)
    except InvalidGrant:
        return ok("cronofy", f"{where}: client credentials accepted (dummy code → invalid_grant)")
    except CalendarAuthError:
        return fail(
            "cronofy",
            f"{where}: client credentials refused (invalid_client)",
            "check CRONOFY_CLIENT_ID / CRONOFY_CLIENT_SECRET and CRONOFY_DATA_CENTER",
        )
    except CalendarUnavailable:
        return fail("cronofy", f"{where}: unreachable", "check the network and CRONOFY_DATA_CENTER")
    except CalendarError as exc:
        return fail("cronofy", f"{where}: unexpected answer ({type(exc).__name__})")
    finally:
        await client.aclose()
    return fail("cronofy", f"{where}: a dummy code was accepted, which Cronofy never does")

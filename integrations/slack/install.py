"""Multi-workspace install: `GET /slack/install` and `GET /slack/oauth_redirect`.

bolt's `AsyncOAuthFlow` runs OAuth v2 (a one-time state in our database plus a browser
cookie, `oauth.v2.access`, `auth.test`, saving the installation); calbot adds its own
pages and, after a successful install, the onboarding DM to the installer. The flow is
used on its own rather than through `AsyncApp(oauth_settings=…)` because bolt refuses a
custom `authorize` beside OAuth settings, and ours (`BoltAuthorize`) keeps single- and
multi-workspace mode on one code path. Routes are ours too (reference/slack.md §2.2).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.connect import Actor
from integrations.slack.actors import build_actor
from integrations.slack.auth import InstalledTokens
from integrations.web.app import TEMPLATES
from storage.crypto import TokenCipher
from storage.slack_installations import (
    STATE_TTL_SECONDS,
    SlackInstallationStore,
    SlackOAuthStateStore,
)

if TYPE_CHECKING:
    from integrations.runtime import Runtime

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"

_pages = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)

# bolt's failure reasons (plus Slack's `error=` values) → what the installer reads.
# (title, detail, nothing changed in Slack?)
_PROBLEMS: dict[str, tuple[str, str, bool]] = {
    "access_denied": (
        "Installation cancelled",
        "calbot wasn't added to your workspace. You can start again whenever you're ready.",
        True,
    ),
    "invalid_browser": (
        "Please start the installation again",
        "The installation has to finish in the same browser it started in, within 10 "
        "minutes, and this browser didn't bring the installation's cookie back.",
        True,
    ),
    "invalid_state": (
        "This installation link has expired or was already used",
        "Each installation link works once, for 10 minutes, so a link that was copied or "
        "replayed can't install calbot in someone else's name.",
        True,
    ),
    "missing_code": (
        "Slack didn't send an approval",
        "The page was opened without Slack's approval code.",
        True,
    ),
    "invalid_code": (
        "Slack didn't confirm the installation",
        "Slack refused the approval code (it works once, for a few minutes).",
        True,
    ),
    "storage_error": (
        "calbot couldn't save the installation",
        "Slack approved it, but calbot couldn't record it just now. Please try again in a minute.",
        False,
    ),
}
_UNKNOWN = ("The installation didn't finish", "Slack reported: {reason}.", True)


def open_in_slack_url(app_id: str | None, team_id: str | None) -> str:
    """Slack's documented deep link to an app's DM, via the browser."""
    if not app_id or not team_id:
        return "https://slack.com/"
    return "https://slack.com/app_redirect?" + urlencode({"app": app_id, "team": team_id})


class SlackInstaller:
    """The two install routes, on bolt's OAuth flow with our stores and pages."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        scopes: Sequence[str],
        installations: SlackInstallationStore,
        states: AsyncOAuthStateStore,
        client: AsyncWebClient,
        clients: Callable[[str], AsyncWebClient],
        on_installed: Callable[[Actor], Awaitable[None]],
    ) -> None:
        """`client` (no token) exchanges the code; `clients(token)` acts as the new bot."""
        self._clients = clients
        self._on_installed = on_installed
        settings = AsyncOAuthSettings(
            client_id=client_id,
            client_secret=client_secret,
            scopes=list(scopes),
            user_scopes=[],  # calbot acts only as its bot user
            redirect_uri=redirect_uri,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            # Straight on to Slack's consent screen: "Add to Slack" links point here.
            install_page_rendering_enabled=False,
            installation_store=installations,
            state_store=states,
            state_expiration_seconds=STATE_TTL_SECONDS,
            callback_options=AsyncCallbackOptions(success=self._success, failure=self._failure),
        )
        self.flow = AsyncOAuthFlow(client=client, settings=settings)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(INSTALL_PATH, self.handle_install)
        app.router.add_get(REDIRECT_PATH, self.handle_redirect)

    async def handle_install(self, request: web.Request) -> web.StreamResponse:
        """302 to slack.com's consent screen, with a fresh state (stored and in a cookie)."""
        try:
            bolt_response = await self.flow.handle_installation(await to_bolt_request(request))
        except Exception:
            # The state is written to the database first: no database, no install.
            log.exception("slack install: could not start")
            return self._problem_response("storage_error", 503)
        return _private(await to_aiohttp_response(bolt_response))

    async def handle_redirect(self, request: web.Request) -> web.StreamResponse:
        """Slack sends the installer back here with `code` and `state` (or `error`)."""
        try:
            bolt_response = await self.flow.handle_callback(await to_bolt_request(request))
        except Exception:
            # bolt handles Slack's API errors and BoltError; a database or network error
            # while saving would otherwise be a bare 500.
            log.exception("slack install: callback failed")
            return self._problem_response("storage_error", 503)
        return _private(await to_aiohttp_response(bolt_response))

    # --- bolt's callbacks ---------------------------------------------------------------

    async def _success(self, args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        log.info(
            "slack install: team %s (%s) by %s",
            installation.team_id,
            installation.team_name,
            installation.user_id,
        )
        onboarded = await self._onboard(installation)
        html = _pages.get_template("slack_installed.html").render(
            team_name=installation.team_name or "your workspace",
            onboarded=onboarded,
            open_url=open_in_slack_url(installation.app_id, installation.team_id),
        )
        return self._page(200, html)

    async def _failure(self, args: AsyncFailureArgs) -> BoltResponse:
        log.warning("slack install refused: %s", args.reason)
        return self._page(args.suggested_status_code, self._problem_html(args.reason))

    async def _onboard(self, installation: Installation) -> bool:
        """DM the installer the consent onboarding card (through the outbox)."""
        if not installation.bot_token or not installation.team_id or not installation.user_id:
            return False
        try:
            client = self._clients(installation.bot_token)
            actor = await build_actor(client, installation.team_id, installation.user_id)
            await self._on_installed(actor)
        except Exception:
            # The install itself is saved: say how to get the card rather than fail it.
            log.exception("slack install: onboarding DM for %s failed", installation.team_id)
            return False
        return True

    # --- pages ---------------------------------------------------------------------------

    def _problem_html(self, reason: str) -> str:
        title, detail, nothing_changed = _PROBLEMS.get(reason, _UNKNOWN)
        return _pages.get_template("slack_install_problem.html").render(
            title=title,
            detail=detail.format(reason=reason[:100]),
            badge="warn" if reason == "access_denied" else "bad",
            install_url=INSTALL_PATH,
            nothing_changed=nothing_changed,
        )

    def _problem_response(self, reason: str, status: int) -> web.Response:
        return _private(
            web.Response(text=self._problem_html(reason), status=status, content_type="text/html")
        )

    def _page(self, status: int, html: str) -> BoltResponse:
        # The state is spent either way: drop its cookie.
        cookie = self.flow.settings.state_utils.build_set_cookie_for_deletion()
        return BoltResponse(
            status=status,
            body=html,
            headers={"Content-Type": "text/html; charset=utf-8", "Set-Cookie": [cookie]},
        )


def _private(response: web.Response) -> web.Response:
    # The callback URL carries a one-time code: keep it out of caches and Referer headers.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def mount_install(runtime: Runtime) -> InstalledTokens:
    """Multi-workspace mode: the install routes on our app, tokens from our database."""
    from integrations.runtime import encryption_keys
    from integrations.slack.app import client_factory
    from integrations.slack.manifest import bot_scopes

    settings = runtime.settings
    assert settings.SLACK_CLIENT_ID and settings.SLACK_CLIENT_SECRET
    cipher = TokenCipher(encryption_keys(settings))
    installations = SlackInstallationStore(settings.SLACK_CLIENT_ID, runtime.engine, cipher)
    # No retries: a code is exchanged once, so a resent `oauth.v2.access` can only fail.
    clients = client_factory(settings.SLACK_API_URL)
    installer = SlackInstaller(
        client_id=settings.SLACK_CLIENT_ID,
        client_secret=settings.SLACK_CLIENT_SECRET,
        redirect_uri=f"{settings.PUBLIC_BASE_URL}{REDIRECT_PATH}",
        scopes=bot_scopes(),
        installations=installations,
        states=SlackOAuthStateStore(runtime.engine),
        client=clients(None),
        clients=clients,
        on_installed=runtime.bot.installed,
    )
    installer.add_routes(runtime.web)
    runtime.extras["slack_installer"] = installer
    return InstalledTokens(installations)

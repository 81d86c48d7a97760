"""Bot Framework credentials and the adapter: the only module that configures the SDK.

calbot's ``MICROSOFT_APP_*`` settings are mapped onto the attribute names
``ConfigurationBotFrameworkAuthentication`` reads (``APP_ID``, ``APP_PASSWORD``,
``APP_TYPE``, ``APP_TENANTID``). An empty app id with the MultiTenant type is the SDK's
"authentication disabled" mode: inbound requests without a token are accepted and
outbound calls carry no token (local development, the Agents Playground, tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botframework.connector.auth import ClaimsIdentity, ConnectorFactory

from bot.settings import Settings

# msrest's default is 100 s per call, run in a worker thread; a stuck connector must
# not hold an outbox lease that long.
CONNECTOR_TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class BotConfig:
    """The object ``ConfigurationBotFrameworkAuthentication`` reads with ``getattr``."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TYPE: str
    APP_TENANTID: str


def bot_config(settings: Settings) -> BotConfig:
    return BotConfig(
        APP_ID=settings.MICROSOFT_APP_ID or "",
        APP_PASSWORD=settings.MICROSOFT_APP_PASSWORD or "",
        APP_TYPE=settings.MICROSOFT_APP_TYPE,
        APP_TENANTID=settings.MICROSOFT_APP_TENANT_ID or "",
    )


class TunedConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    """Wraps the SDK's factory so every ConnectorClient it makes fails fast.

    msrest retries 408 and 5xx itself (urllib3, three times with backoff) and waits up
    to 100 s per call. Retries belong to our outbox, which knows the platform limits
    and persists its schedule, so the client gets no retries and a short timeout; a 5xx
    then surfaces as an ``ErrorResponseException`` with its status, which the gateway
    maps to ``ChatTransient``.
    """

    def __init__(self, inner: Any, timeout: float = CONNECTOR_TIMEOUT_SECONDS) -> None:
        self._inner = inner
        self._timeout = timeout

    async def create(self, service_url: str, audience: str | None = None) -> Any:
        client = await self._inner.create(service_url, audience)
        tune_client(client, self._timeout)
        return client


def tune_client(client: Any, timeout: float = CONNECTOR_TIMEOUT_SECONDS) -> None:
    policy = client.config.retry_policy
    policy.retries = 0  # connect/read retries
    policy.policy.status_forcelist = set()  # keep the HTTP status instead of RetryError
    client.config.connection.timeout = timeout


class CalbotAuthentication(ConfigurationBotFrameworkAuthentication):  # type: ignore[misc]
    """The SDK's configuration-driven authentication, with tuned connector clients.

    Proactive turns (``continue_conversation``, ``create_conversation``) get their
    factory from ``create_connector_factory``; inbound turns get it from the
    ``AuthenticateRequestResult``, which the route wraps with ``TunedConnectorFactory``.
    """

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return TunedConnectorFactory(super().create_connector_factory(claims_identity))


def build_adapter(settings: Settings) -> tuple[CloudAdapter, CalbotAuthentication]:
    """The adapter and its authentication. Raises if a SingleTenant/MSI setting is missing."""
    authentication = CalbotAuthentication(bot_config(settings))
    adapter = CloudAdapter(authentication)
    # No on_turn_error: errors must reach our route (inbound → 500 and a log line) and
    # the gateway (proactive → neutral ChatError). With a handler set, the SDK swallows
    # proactive failures (403/429 included) and reports success.
    adapter.on_turn_error = None
    return adapter, authentication

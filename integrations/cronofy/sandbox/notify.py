"""Delivers signed push notifications to channel callback URLs."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp

from integrations.cronofy import push
from integrations.cronofy.sandbox.models import Channel, Delivery

logger = logging.getLogger(__name__)

DELIVERY_TIMEOUT = 5.0  # what Cronofy is reported to allow a receiver


class Notifier:
    def __init__(self, client_secret: str) -> None:
        self._secret = client_secret
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(self, channels: list[Channel], notification: dict[str, Any]) -> list[Delivery]:
        if not channels:
            return []
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT)
            )
        return list(await asyncio.gather(*(self._deliver(c, notification) for c in channels)))

    async def _deliver(self, channel: Channel, notification: dict[str, Any]) -> Delivery:
        body = json.dumps({"notification": notification, "channel": channel.to_json()}).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            push.HEADER: push.sign(body, self._secret),
        }
        kind = str(notification["type"])
        assert self._session is not None
        try:
            async with self._session.post(
                channel.callback_url, data=body, headers=headers
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.info("push %s to %s failed: %s", kind, channel.channel_id, type(exc).__name__)
            return Delivery(
                channel.channel_id, channel.callback_url, kind, None, type(exc).__name__
            )
        return Delivery(channel.channel_id, channel.callback_url, kind, status)

"""App Home: the core's home card, published as the user's Home tab.

Published whenever the user opens the tab (Slack fires `app_home_opened` on every
visit) and again after a button on it was pressed, so the tab shows the state the
press left behind. Publishing is idempotent: a retried event only publishes again.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.dispatch import Bot
from integrations.slack.actors import build_actor
from integrations.slack.render import home_view

log = logging.getLogger(__name__)


async def publish_home(bot: Bot, client: AsyncWebClient, team_id: str, user_id: str) -> bool:
    """Build the user's home card and publish it. Returns whether Slack took it."""
    try:
        actor = await build_actor(client, team_id, user_id)
        card = await bot.home(actor)
        await client.views_publish(user_id=user_id, view=home_view(card))
    except SlackApiError as exc:
        # The tab keeps its last view; the next visit tries again.
        log.warning("views.publish refused for %s: %s", user_id, exc.response.get("error"))
        return False
    except Exception:
        log.exception("could not publish App Home for %s", user_id)
        return False
    return True

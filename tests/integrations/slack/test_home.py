"""App Home: `app_home_opened` publishes the core's home card; its buttons work."""

from __future__ import annotations

from typing import Any

from bot.messages import Divider, Message, Section
from integrations.slack.render import MAX_HOME_BLOCKS, home_view
from tests.fakes.mock_slack import validate_blocks
from tests.fakes.slack_payloads import home_opened_event
from tests.integrations.slack.conftest import ALICE, Calbot

ADMIN = "U2"


def _buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def _text(blocks: list[dict[str, Any]]) -> str:
    return " ".join(str(b) for b in blocks)


async def _open_home(calbot: Calbot, user: str, event_id: str) -> dict[str, Any]:
    response = await calbot.event(home_opened_event(user), event_id=event_id)
    assert response.status == 200
    await calbot.idle()
    publish = calbot.slack.calls_to("views.publish")[-1]
    assert publish.ok, publish.response
    assert publish.params["user_id"] == user
    view = publish.params["view"]
    assert view["type"] == "home"
    validate_blocks(view["blocks"], max_blocks=MAX_HOME_BLOCKS)
    return dict(view)


async def test_home_tab_shows_own_status_with_a_connect_button(calbot: Calbot) -> None:
    view = await _open_home(calbot, ALICE, "EvH1")
    assert "isn't connected yet" in _text(view["blocks"])
    assert [b["action_id"] for b in _buttons(view["blocks"])] == ["connect.reconnect"]
    assert "For admins" not in _text(view["blocks"])
    assert calbot.slack.views[ALICE]["blocks"] == view["blocks"]


async def test_admins_see_the_workspace_summary(calbot: Calbot) -> None:
    view = await _open_home(calbot, ADMIN, "EvH2")
    assert "For admins" in _text(view["blocks"])


async def test_messages_tab_publishes_nothing(calbot: Calbot) -> None:
    response = await calbot.event(home_opened_event(ALICE, tab="messages"), event_id="EvH3")
    assert response.status == 200
    await calbot.idle()
    assert calbot.slack.calls_to("views.publish") == []


async def test_connect_button_on_home_sends_a_link_and_republishes(calbot: Calbot) -> None:
    await _open_home(calbot, ALICE, "EvH4")
    calbot.slack.reset_calls()
    clicked = await calbot.click("connect.reconnect", "self", user_id=ALICE, home=True)
    assert clicked.status == 200
    await calbot.idle()
    assert calbot.slack.calls_to("response_url") == []  # a Home click has none
    # The answer lands in the DM with the bot, and the tab is published again.
    [answer] = calbot.slack.calls_to("chat.postMessage")
    assert "new personal link" in answer.params["text"]
    assert len(calbot.slack.calls_to("views.publish")) == 1
    await calbot.runtime.outbox.drain()
    links = [
        b
        for c in calbot.slack.calls_to("chat.postMessage")
        for b in _buttons(c.params["blocks"])
        if b.get("url")
    ]
    assert len(links) == 1 and links[0]["url"].startswith(f"{calbot.base_url}/connect/")


async def test_a_failed_publish_is_logged_not_raised(calbot: Calbot) -> None:
    calbot.slack.fail_method("views.publish", "not_enabled")
    response = await calbot.event(home_opened_event(ALICE), event_id="EvH5")
    assert response.status == 200
    await calbot.idle()
    [publish] = calbot.slack.calls_to("views.publish")
    assert not publish.ok
    assert calbot.adapter.background.pending == 0


def test_home_view_takes_up_to_100_blocks() -> None:
    card = Message(text="t", blocks=tuple(Section(text=f"line {n}") for n in range(150)))
    view = home_view(card)
    assert len(view["blocks"]) == MAX_HOME_BLOCKS
    # Text sections merge to fit rather than lose lines...
    assert _text(view["blocks"]).count("line ") == 150
    validate_blocks(view["blocks"], max_blocks=MAX_HOME_BLOCKS)
    # ...and what can't merge is cut, with a note.
    view = home_view(Message(text="t", blocks=tuple(Divider() for _ in range(150))))
    assert len(view["blocks"]) == MAX_HOME_BLOCKS
    assert "shortened" in view["blocks"][-1]["elements"][0]["text"]
    validate_blocks(view["blocks"], max_blocks=MAX_HOME_BLOCKS)


async def test_connected_user_disconnects_from_home(calbot: Calbot) -> None:
    await calbot.connected(ALICE, "alice@contoso.com")
    view = await _open_home(calbot, ALICE, "EvH6")
    assert "Your calendar is connected" in _text(view["blocks"])
    ids = [b["action_id"] for b in _buttons(view["blocks"])]
    assert ids == ["connect.reconnect", "connect.disconnect"]

    calbot.slack.reset_calls()
    clicked = await calbot.click("connect.disconnect", "self", user_id=ALICE, home=True)
    assert clicked.status == 200
    await calbot.idle()
    [answer] = calbot.slack.calls_to("chat.postMessage")
    validate_blocks(answer.params["blocks"])
    [publish] = calbot.slack.calls_to("views.publish")
    assert "isn't connected yet" in _text(publish.params["view"]["blocks"])

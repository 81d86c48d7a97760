"""Teams-shaped helpers for the propose flow: people with their own 1:1 chats, connected
through the real flow, forms filled in and buttons pressed the way Teams sends them."""

from __future__ import annotations

from typing import Any

from tests.fakes.mock_connector import ConnectorCall
from tests.integrations.teams.conftest import PERSONAL_CHAT, TENANT, TeamsHarness
from tests.integrations.teams.team_fixtures import ALICE, Person
from tests.integrations.teams.test_connect_flow import connect_via_browser, open_url_actions


def chat_of(person: Person) -> str:
    """The person's 1:1 chat with calbot (the convention of ``personal_submit``)."""
    return PERSONAL_CHAT if person == ALICE else f"a:personal-{person.teams_id}"


def as_sender(activity: dict[str, Any], person: Person, tz: str | None = None) -> dict[str, Any]:
    """``activity`` sent by ``person`` from their 1:1 chat (and their Teams client's zone)."""
    activity["from"] = {"id": person.teams_id, "name": person.name, "aadObjectId": person.aad}
    activity["conversation"]["id"] = chat_of(person)
    if tz:
        activity["localTimezone"] = tz
        for entity in activity.get("entities") or []:
            if entity.get("type") == "clientInfo":
                entity["timezone"] = tz
    return activity


def add_person(teams: TeamsHarness, person: Person) -> None:
    """Someone in the tenant who has calbot installed: Teams knows their 1:1 chat."""
    teams.connector.add_member(
        person.teams_id,
        name=person.name,
        aad_object_id=person.aad,
        email=person.email,
        tenant_id=TENANT,
        conversation_id=chat_of(person),
    )
    teams.connector.personal_chats[(TENANT, person.teams_id)] = chat_of(person)


async def say_as(teams: TeamsHarness, person: Person, text: str, tz: str | None = None) -> Any:
    activity = as_sender(teams.activity("message_personal", text=text), person, tz)
    return await teams.post(activity)


async def connect_for_real(teams: TeamsHarness, person: Person, tz: str) -> None:
    """``connect`` in their 1:1 chat, the link DM, consent at the sandbox, the callback.

    Their Teams client's time zone (``localTimezone``) is what calbot stores as theirs.
    """
    add_person(teams, person)
    await say_as(teams, person, "connect", tz)
    await teams.runtime.outbox.drain()
    link_dm = next(c for c in reversed(teams.connector.posts(chat_of(person))) if c.cards)
    (button,) = open_url_actions(link_dm.cards[0])
    await connect_via_browser(teams, button["url"], person.email)
    await teams.runtime.outbox.drain()


def inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The card's inputs by id."""
    return {e["id"]: e for e in card["body"] if str(e.get("type", "")).startswith("Input.")}


def warnings(card: dict[str, Any]) -> list[str]:
    return [e["text"] for e in card["body"] if e.get("color") == "Attention"]


def form_action(card: dict[str, Any]) -> dict[str, Any]:
    (action,) = card["actions"]
    return dict(action)


def submit_form(
    teams: TeamsHarness,
    form_message: ConnectorCall,
    fields: dict[str, Any],
    sender: Person = ALICE,
) -> dict[str, Any]:
    """Action.Submit on the form: the button's data merged with the inputs' values."""
    data = {**form_action(form_message.cards[0])["data"]}
    data.update({f"field.{key}": value for key, value in fields.items()})
    activity = as_sender(teams.activity("submit_personal", value=data), sender)
    activity["replyToId"] = teams.connector.sent_id(form_message)
    return activity


def execute(
    teams: TeamsHarness,
    data: dict[str, Any],
    sender: Person,
    *,
    verb: str,
    reply_to: str | None = None,
) -> dict[str, Any]:
    """An Action.Execute press (``adaptiveCard/action`` invoke) with ``data``."""
    value = {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}
    activity = as_sender(teams.activity("invoke_adaptive_card_action", value=value), sender)
    if reply_to:
        activity["replyToId"] = reply_to
    return activity


def offers(teams: TeamsHarness, person: Person) -> list[ConnectorCall]:
    """Offer cards sent to ``person`` (new messages, not edits), oldest first."""
    return [c for c in teams.connector.posts(chat_of(person)) if "Accept" in c.text]


def accept_buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        action
        for element in card["body"]
        if element["type"] == "ActionSet"
        for action in element["actions"]
        if action.get("data", {}).get("action_id") == "propose.accept"
    ]


def last_card(teams: TeamsHarness, sent: ConnectorCall) -> dict[str, Any]:
    """The latest version of a sent card: its last edit, or the card as sent."""
    edits = teams.connector.updates(activity_id=teams.connector.sent_id(sent))
    return (edits[-1] if edits else sent).cards[0]

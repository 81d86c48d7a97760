"""The Adaptive Card renderer: pure, so tested without any HTTP.

No copy of the official Adaptive Card 1.5 schema is installed (and we don't download
one), so CARD_SCHEMA below is a strict JSON Schema for the subset calbot emits, with
property names, enums and required fields taken from the 1.5 schema: any typo or
unsupported property fails here rather than silently in the Teams client.
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from bot import cards, status_cards
from bot.digest import TeamLine
from bot.messages import Actions, Button, Context, Divider, Fields, Header, Message, Section
from integrations.teams.render import (
    CARD_CONTENT_TYPE,
    MAX_CARD_BYTES,
    attachment,
    card_size,
    render_card,
)

_SPACING = {"enum": ["None", "Small", "Default", "Medium", "Large", "ExtraLarge", "Padding"]}
_COMMON = {"separator": {"type": "boolean"}, "spacing": _SPACING}
_STYLE = {"enum": ["default", "positive", "destructive"]}
_ACTION_DATA = {
    "type": "object",
    "required": ["action_id", "value"],
    "properties": {"action_id": {"type": "string"}, "value": {"type": "string"}},
}
CARD_SCHEMA = {
    "type": "object",
    "required": ["type", "version", "body"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "AdaptiveCard"},
        "$schema": {"const": "http://adaptivecards.io/schemas/adaptive-card.json"},
        "version": {"const": "1.5"},
        "fallbackText": {"type": "string"},
        "body": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/element"}},
        "actions": {"type": "array", "items": {"$ref": "#/$defs/action"}},
        "msteams": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "width": {"const": "Full"},
                "entities": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["type", "text", "mentioned"],
                        "properties": {
                            "type": {"const": "mention"},
                            "text": {"type": "string", "pattern": "^<at>.+</at>$"},
                            "mentioned": {
                                "type": "object",
                                "required": ["id", "name"],
                            },
                        },
                    },
                },
            },
        },
    },
    "$defs": {
        "element": {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["type", "text"],
                    "additionalProperties": False,
                    "properties": {
                        "type": {"const": "TextBlock"},
                        "text": {"type": "string", "minLength": 1},
                        "wrap": {"type": "boolean"},
                        "size": {"enum": ["Default", "Small", "Medium", "Large", "ExtraLarge"]},
                        "weight": {"enum": ["Default", "Lighter", "Bolder"]},
                        "isSubtle": {"type": "boolean"},
                        **_COMMON,
                    },
                },
                {
                    "type": "object",
                    "required": ["type", "facts"],
                    "additionalProperties": False,
                    "properties": {
                        "type": {"const": "FactSet"},
                        "facts": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["title", "value"],
                                "additionalProperties": False,
                                "properties": {
                                    "title": {"type": "string"},
                                    "value": {"type": "string"},
                                },
                            },
                        },
                        **_COMMON,
                    },
                },
                {
                    "type": "object",
                    "required": ["type", "actions"],
                    "additionalProperties": False,
                    "properties": {
                        "type": {"const": "ActionSet"},
                        "actions": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"$ref": "#/$defs/action"},
                        },
                        **_COMMON,
                    },
                },
            ]
        },
        "action": {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["type", "title", "url"],
                    "additionalProperties": False,
                    "properties": {
                        "type": {"const": "Action.OpenUrl"},
                        "title": {"type": "string"},
                        "url": {"type": "string", "pattern": "^https?://"},
                        "style": _STYLE,
                    },
                },
                {
                    "type": "object",
                    "required": ["type", "title", "data"],
                    "additionalProperties": False,
                    "properties": {
                        "type": {"const": "Action.Submit"},
                        "title": {"type": "string"},
                        "data": _ACTION_DATA,
                        "style": _STYLE,
                    },
                },
                {
                    "type": "object",
                    "required": ["type", "title", "verb", "data"],
                    "additionalProperties": False,
                    "properties": {
                        "type": {"const": "Action.Execute"},
                        "title": {"type": "string"},
                        "verb": {"type": "string", "minLength": 1},
                        "data": _ACTION_DATA,
                        "style": _STYLE,
                    },
                },
            ]
        },
    },
}


def valid(card: dict) -> dict:
    jsonschema.Draft202012Validator(CARD_SCHEMA).validate(card)
    json.dumps(card)  # plain JSON only: no SDK objects inside
    return card


EVERY_CARD = [
    cards.help_card(),
    cards.connect_link_card("https://calbot.example/connect/abc", expires="Fri 04 Dec 09:00"),
    cards.connect_link_card("https://calbot.example/connect/abc", expires="x", asked_by="Bob"),
    cards.connected_card(
        provider="Office 365", account="alice@contoso.com", chat_name="Alice", when="now"
    ),
    cards.already_connected_card(provider="Office 365", account="a@contoso.com", since="May"),
    cards.connect_failed_card("access was not granted."),
    cards.link_superseded_card(),
    cards.disconnected_card("Office 365", "alice@contoso.com"),
    status_cards.digest_settings(["#interviewers", "@panel"], 80, next_at="Mon 30 Nov"),
    status_cards.weekly_digest(
        [TeamLine("channel:C1|interviewers", "#interviewers", 3, 9), TeamLine("x:y", "@p", 9, 9)],
        80,
        week_of="Mon 30 Nov 09:00 (UTC)",
    ),
]


@pytest.mark.parametrize("message", EVERY_CARD, ids=lambda m: m.text[:30])
@pytest.mark.parametrize("actions", ["submit", "execute"])
def test_every_core_card_renders_to_a_valid_card(message: Message, actions) -> None:
    card = valid(render_card(message, actions=actions))
    assert card["fallbackText"]
    assert card_size(card) < MAX_CARD_BYTES


def test_connect_link_card_layout() -> None:
    card = valid(
        render_card(cards.connect_link_card("https://calbot.example/connect/t0k", expires="Fri"))
    )
    header, intro, action_set, context = card["body"]
    assert header == {
        "type": "TextBlock",
        "text": "Connect your calendar",
        "size": "Large",
        "weight": "Bolder",
        "wrap": True,
    }
    assert intro["wrap"] is True and "size" not in intro
    assert action_set["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Connect your calendar",
            "url": "https://calbot.example/connect/t0k",
            "style": "positive",
        }
    ]
    assert context["size"] == "Small" and context["isSubtle"] is True


def test_buttons_submit_or_execute() -> None:
    message = Message(
        text="t",
        blocks=(
            Actions(
                buttons=(
                    Button(
                        label="Disconnect",
                        action_id="connect.disconnect",
                        value="self",
                        style="danger",
                    ),
                    Button(label="Reconnect", action_id="connect.reconnect"),
                )
            ),
        ),
    )
    submit = valid(render_card(message))["body"][0]["actions"]
    assert submit[0] == {
        "type": "Action.Submit",
        "title": "Disconnect",
        "data": {"action_id": "connect.disconnect", "value": "self"},
        "style": "destructive",
    }
    assert "style" not in submit[1]
    execute = valid(render_card(message, actions="execute"))["body"][0]["actions"]
    assert execute[0]["type"] == "Action.Execute"
    assert execute[0]["verb"] == "connect.disconnect"
    assert execute[0]["data"] == {"action_id": "connect.disconnect", "value": "self"}


def test_fields_divider_and_markdown() -> None:
    message = Message(
        text="Status",
        blocks=(
            Header(text="**Team** status"),
            Fields(items=(("Connected", "**14** of 17"), ("Pending", "2"))),
            Divider(),
            Section(text="Line one\nLine two with `code` and [a link](https://x.example)"),
            Context(text="_small print_"),
        ),
    )
    header, facts, section, context = valid(render_card(message))["body"]
    assert header["text"] == "Team status"  # headers are plain text
    assert facts["facts"] == [
        {"title": "Connected", "value": "**14** of 17"},
        {"title": "Pending", "value": "2"},
    ]
    assert section["separator"] is True  # the divider
    assert section["text"] == "Line one\n\nLine two with code and [a link](https://x.example)"
    assert context["text"] == "_small print_"


def test_mentions_become_teams_mentions_only_with_a_name() -> None:
    message = Message(text="x", blocks=(Section(text="<@aad-1> and <@aad-2> were nudged"),))
    card = valid(render_card(message, names={"aad-1": "Alice Example"}))
    assert card["body"][0]["text"] == "<at>Alice Example</at> and aad-2 were nudged"
    assert card["msteams"]["entities"] == [
        {
            "type": "mention",
            "text": "<at>Alice Example</at>",
            "mentioned": {"id": "aad-1", "name": "Alice Example"},
        }
    ]
    plain = valid(render_card(message))
    assert plain["body"][0]["text"] == "aad-1 and aad-2 were nudged"
    assert "entities" not in plain["msteams"]


def test_a_message_without_blocks_still_has_a_body() -> None:
    card = valid(render_card(Message(text="Just text")))
    assert card["body"] == [{"type": "TextBlock", "text": "Just text", "wrap": True}]


def test_huge_messages_are_cut_to_size_but_keep_their_buttons() -> None:
    rows = tuple(Section(text=f"Person {i}: " + "x" * 400) for i in range(200))
    button = Button(label="Nudge all", action_id="nudge.all", value="team-1")
    message = Message(
        text="Report", blocks=(Header(text="Report"), *rows, Actions(buttons=(button,)))
    )
    card = valid(render_card(message))
    assert card_size(card) <= MAX_CARD_BYTES
    assert card["body"][0]["text"] == "Report"
    assert card["body"][-1]["actions"][0]["data"]["action_id"] == "nudge.all"
    assert "size limit" in card["body"][-2]["text"]


def test_one_enormous_block_is_truncated() -> None:
    message = Message(text="y" * 100_000, blocks=(Section(text="y" * 100_000),))
    card = valid(render_card(message))
    assert card_size(card) <= MAX_CARD_BYTES


def test_attachment_shape() -> None:
    card = render_card(cards.help_card())
    assert attachment(card) == {"contentType": CARD_CONTENT_TYPE, "content": card}
    assert CARD_CONTENT_TYPE == "application/vnd.microsoft.card.adaptive"


AAD_A = "6f1c2e8a-0000-4b7a-9c1e-00000000000a"
AAD_B = "6f1c2e8a-0000-4b7a-9c1e-00000000000b"


def test_labelled_people_tokens_become_mentions_by_default() -> None:
    message = Message(
        text="x",
        blocks=(
            Section(text=f"**Never connected (2)**\n• <@{AAD_A}|Alice Example>\n• <@29:b|Bob>"),
            Context(text=f"<@{AAD_A}|Alice Example> again, <@console-id|Carol> is not Teams"),
        ),
    )
    card = valid(render_card(message))
    assert card["body"][0]["text"] == (
        "**Never connected (2)**\n\n• <at>Alice Example</at>\n\n• <at>Bob</at>"
    )
    assert card["body"][1]["text"] == "<at>Alice Example</at> again, Carol is not Teams"
    assert card["msteams"]["entities"] == [
        {
            "type": "mention",
            "text": "<at>Alice Example</at>",
            "mentioned": {"id": AAD_A, "name": "Alice Example"},
        },
        {"type": "mention", "text": "<at>Bob</at>", "mentioned": {"id": "29:b", "name": "Bob"}},
    ]


def test_two_people_with_one_name_cannot_share_a_mention_text() -> None:
    message = Message(
        text="x", blocks=(Section(text=f"<@{AAD_A}|Sam Lee> and <@{AAD_B}|Sam Lee>"),)
    )
    card = valid(render_card(message))
    assert card["body"][0]["text"] == "<at>Sam Lee</at> and **Sam Lee**"
    assert [e["mentioned"]["id"] for e in card["msteams"]["entities"]] == [AAD_A]


def test_a_report_too_big_for_mentions_shows_bold_names_instead() -> None:
    lines = "\n".join(f"• <@6f1c2e8a-0000-4b7a-9c1e-{n:012d}|Person {n:04d}>" for n in range(250))
    message = Message(text="report", blocks=(Section(text=lines),))
    card = valid(render_card(message))
    assert card_size(card) <= MAX_CARD_BYTES
    assert "entities" not in card["msteams"]
    assert "• **Person 0249**" in card["body"][0]["text"]
    assert "size limit" not in str(card)  # nobody was left out

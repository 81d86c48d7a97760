"""Inbound ``<at>`` mentions → the core's neutral ``<@id|label>`` tokens (pure)."""

from __future__ import annotations

from botbuilder.schema import Activity

from bot.commands import Target, parse_command
from integrations.teams.handler import asked_in
from integrations.teams.mentions import Mention, is_person, mentions_of, neutral_text

BOT = "28:bot"
BOB = Mention("<at>Bob Baker</at>", "29:bob", "Bob Baker")
CALBOT = Mention("<at>calbot</at>", BOT, "calbot")


def test_people_become_tokens_and_the_bot_disappears() -> None:
    text = neutral_text(
        "<at>calbot</at> is <at>Bob Baker</at> connected?", [CALBOT, BOB], {"29:bob": "aad-b"}, BOT
    )
    assert text == "is <@aad-b|Bob Baker> connected?"
    assert parse_command(text).target == Target("user", "aad-b", "Bob Baker")


def test_an_unresolved_person_keeps_their_name() -> None:
    text = neutral_text("<at>calbot</at> is <at>Bob Baker</at> connected?", [CALBOT, BOB], {}, BOT)
    assert text == "is Bob Baker connected?"
    assert parse_command(text).name == "unknown"  # never answered about someone else


def test_typed_lookalike_tokens_are_not_tokens() -> None:
    text = neutral_text("is &lt;@aad-x|Mallory&gt; connected?", [], {}, BOT)
    assert "<" not in text and ">" not in text
    assert parse_command(text).name == "unknown"


def test_names_are_unescaped_and_made_safe_for_the_token_grammar() -> None:
    odd = Mention("<at>A &amp; B | C&gt;</at>", "29:ab", "A &amp; B | C&gt;")
    text = neutral_text("status of <at>A &amp; B | C&gt;</at>", [odd], {"29:ab": "aad-ab"}, BOT)
    assert text == "status of <@aad-ab|A & B C>"


def test_mentions_of_reads_entities_and_skips_non_people() -> None:
    activity = Activity().deserialize(
        {
            "type": "message",
            "text": "<at>calbot</at> who isn't synced in <at>Interviewers</at>?",
            "entities": [
                {"type": "mention", "text": "<at>calbot</at>", "mentioned": {"id": BOT}},
                {
                    "type": "mention",
                    "text": "<at>Interviewers</at>",
                    "mentioned": {"id": "19:team@thread.tacv2", "name": "Interviewers"},
                },
                {
                    "type": "mention",
                    "text": "<at>Bob</at>",
                    "mentioned": {"id": "29:bob", "name": "Bob", "aadObjectId": "aad-b"},
                },
                {"type": "clientInfo", "locale": "en-GB"},
            ],
        }
    )
    found = mentions_of(activity)
    assert [m.teams_id for m in found] == [BOT, "19:team@thread.tacv2", "29:bob"]
    assert found[0].name == "calbot"  # from the <at> text when the entity has no name
    assert found[2].aad_object_id == "aad-b"
    assert [is_person(m, BOT) for m in found] == [False, False, True]


def _activity(conversation: dict, channel_data: dict) -> Activity:
    return Activity().deserialize(
        {"type": "message", "conversation": conversation, "channelData": channel_data}
    )


def test_asked_in_a_team_channel_means_the_whole_team() -> None:
    activity = _activity(
        {"id": "19:chan@thread.tacv2;messageid=1", "conversationType": "channel"},
        {"team": {"id": "19:team@thread.tacv2", "name": "Interviewers"}},
    )
    ref = asked_in(activity)
    assert ref is not None and (ref.kind, ref.id, ref.label) == (
        "conversation",
        "19:team@thread.tacv2",
        "Interviewers",
    )


def test_asked_in_a_group_chat_or_a_1to1() -> None:
    group = asked_in(_activity({"id": "19:chat@thread.v2", "conversationType": "groupChat"}, {}))
    assert group is not None and (group.id, group.label) == ("19:chat@thread.v2", "this group chat")
    assert asked_in(_activity({"id": "a:1", "conversationType": "personal"}, {})) is None

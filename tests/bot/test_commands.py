from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import Intent, IntentName, Target, parse_command, parse_message

ALICE = Target("user", "U123", "alice")
CHANNEL = Target("channel", "C42", "interviewers")
GROUP = Target("usergroup", "S9", "interview-panel")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Intent("help")),
        ("connect", Intent("connect")),
        ("Connect", Intent("connect")),
        ("disconnect", Intent("disconnect")),
        ("help", Intent("help")),
        ("status", Intent("status")),
        ("status <@U123|alice>", Intent("status", ALICE)),
        ("status <#C42|interviewers>", Intent("team", CHANNEL)),
        ("team", Intent("team")),
        ("team <!subteam^S9|@interview-panel>", Intent("team", GROUP)),
        ("team <#C42|interviewers>", Intent("team", CHANNEL)),
        ("team interviewers please", Intent("unknown")),
        ("frobnicate", Intent("unknown")),
    ],
)
def test_slash_command(text: str, expected: Intent) -> None:
    intent = parse_command(text)
    assert (intent.name, intent.target) == (expected.name, expected.target)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("who isn't synced?", Intent("team")),
        ("Who is not connected yet?", Intent("team")),
        ("who's not synced", Intent("team")),
        ("who isn't connected in <#C42|interviewers>?", Intent("team", CHANNEL)),
        ("<@UBOT> who isn't synced in <#C42>?", Intent("team", Target("channel", "C42"))),
        ("status of <!subteam^S9|@interview-panel>", Intent("team", GROUP)),
        ("status of <@U123|alice>", Intent("status", ALICE)),
        ("is <@U123|alice> connected?", Intent("status", ALICE)),
        ("connect", Intent("connect")),
        ("<@UBOT> help", Intent("help")),
        ("/calendar connect", Intent("connect")),
    ],
)
def test_questions_in_plain_words(text: str, expected: Intent) -> None:
    intent = parse_message(text)
    assert (intent.name, intent.target) == (expected.name, expected.target)


@pytest.mark.parametrize(
    "text",
    [
        "I connected my laptop to the projector",
        "who is coming to lunch?",
        "is the meeting connected to the interview?",
        "status update: the candidate accepted",
        "can someone help me with the offer letter",
        "who isn't synced with the new process in marketing and sales?",
        "the team is great",
    ],
)
def test_ordinary_chat_is_not_a_command(text: str) -> None:
    assert parse_message(text).name == "unknown"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parsers_never_crash(text: str) -> None:
    names = set(get_args(IntentName))
    assert parse_command(text).name in names
    assert parse_message(text).name in names


_COMMAND_WORDS = {
    "connect",
    "reconnect",
    "link",
    "disconnect",
    "unlink",
    "status",
    "team",
    "report",
    "help",
    "/calendar",
}


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "the",
                "meeting",
                "is",
                "great",
                "who",
                "lunch",
                "calendar",
                "we",
                "synced",
                "notes",
                "interview",
                "today",
                "sync",
                "team?",
                "thanks",
                "connected.",
                "our",
                "in",
                "me",
            ]
        ),
        min_size=2,
        max_size=12,
    )
)
def test_sentences_that_do_not_start_with_a_command_word_are_not_commands(words: list[str]) -> None:
    text = " ".join(words)
    intent = parse_message(text)
    if words[0].strip(".!,?") not in _COMMAND_WORDS and intent.name != "unknown":
        # Only the known question shapes may match, and they always start with who/is/status.
        assert words[0].lower() in {"who", "is", "status"}

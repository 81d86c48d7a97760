"""The weekly digest's pure parts: its little grammar and its Monday-morning clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import Target, parse_command
from bot.digest import DigestRequest, TeamLine, digest_week, next_send, parse_digest
from bot.status_cards import weekly_digest

CHANNEL = Target("channel", "C42", "interviewers")
GROUP = Target("usergroup", "S9", "panel")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", DigestRequest("show")),
        ("on", DigestRequest("on")),
        ("ON", DigestRequest("on")),
        ("off", DigestRequest("off")),
        ("on <#C42|interviewers>", DigestRequest("on", CHANNEL)),
        ("on <!subteam^S9|panel> below 90%", DigestRequest("on", GROUP, 90)),
        ("on under 75", DigestRequest("on", None, 75)),
        ("off <#C42|interviewers>", DigestRequest("off", CHANNEL)),
    ],
)
def test_digest_requests(text: str, expected: DigestRequest) -> None:
    assert parse_digest(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "on <@U1|alice>",  # a person is not a team
        "on below 0%",
        "on below 101%",
        "on below lots",
        "off below 50%",
        "<#C42|interviewers>",  # following needs `on`
        "on <#C42|interviewers> please",
        "weekly please",
    ],
)
def test_malformed_digest_requests_are_refused(text: str) -> None:
    assert parse_digest(text) is None


def test_the_command_word_routes_to_the_digest() -> None:
    intent = parse_command("digest on <#C42|interviewers> below 80%")
    assert (intent.name, intent.text) == ("digest", "on <#C42|interviewers> below 80%")


@given(st.text(max_size=200))
def test_the_digest_grammar_never_crashes(text: str) -> None:
    result = parse_digest(text)
    assert result is None or result.action in {"show", "on", "off"}


def test_a_digest_week_turns_over_at_monday_nine_in_the_readers_zone() -> None:
    # Monday 30 Nov 2026: 08:59 and 09:00 in London (UTC in winter), and in New York.
    before = datetime(2026, 11, 30, 8, 59, tzinfo=UTC)
    at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert digest_week(before, "Europe/London") == "2026-W48"
    assert digest_week(at, "Europe/London") == "2026-W49"
    # 09:00 UTC is 04:00 in New York: still last week's digest there.
    assert digest_week(at, "America/New_York") == "2026-W48"
    assert digest_week(datetime(2026, 11, 30, 14, 0, tzinfo=UTC), "America/New_York") == (
        "2026-W49"
    )
    assert digest_week(at, "Not/AZone") == "2026-W49"  # an unknown zone reads as UTC


def test_the_next_digest_is_the_coming_monday_at_nine() -> None:
    wednesday = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    assert next_send(wednesday, "Europe/Paris").isoformat() == "2026-11-30T09:00:00+01:00"
    monday_after_nine = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    assert next_send(monday_after_nine, "Europe/London").isoformat() == (
        "2026-12-07T09:00:00+00:00"
    )


def test_the_digest_names_teams_below_the_threshold_and_summarises_the_rest() -> None:
    lines = [
        TeamLine("channel:C1", "#interviewers", 12, 17),
        TeamLine("usergroup:S9", "@panel", 19, 20),
        TeamLine("channel:C2", "#hiring", 0, 0, problem="couldn't list its members"),
    ]
    card = weekly_digest(lines, 80, week_of="Mon 30 Nov 09:00 (Europe/London)")
    text = "\n".join(getattr(b, "text", "") for b in card.blocks)
    assert "**2 of your 3 teams** are below 80% connected" in text
    assert "**#interviewers**: 12 of 17 connected (71%), 5 not connected" in text
    assert "**#hiring**: couldn't list its members" in text
    assert "At or above 80%: @panel (95%)." in text
    assert [(b.action_id, b.value) for b in card.buttons()] == [
        ("status.refresh", "channel:C1"),
        ("status.refresh", "channel:C2"),
    ]

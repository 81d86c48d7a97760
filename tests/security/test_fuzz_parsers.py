"""Hypothesis over the two text parsers, with inputs shaped like the hostile versions of
what they really get (tests/bot/test_commands.py and tests/integrations/entra cover
plain random text).

The entra parser and classifier catch every exception and log `entra.parse_failed` /
`entra.classify_failed`, so "never raises" alone proves little: these tests also fail
when that defensive path is taken.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import get_args

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import Intent, IntentName, parse_command, parse_message
from integrations.entra.classify import classify
from integrations.entra.parse import ParsedError, parse_error_text

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- the intent parser ---------------------------------------------------------------------

ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@+-"
WORDS = [
    "connect", "reconnect", "link", "disconnect", "unlink", "status", "team", "report",
    "help", "home", "propose", "admin", "setup", "/calendar", "who", "isn't", "is", "not",
    "synced", "connected", "in", "of", "for", "yet", "?", "the", "status of", "45m", "with",
    "next week", '"Jane Doe"', "any", "1", "of", "[", "]", "\u202e", "\u200b", "<", ">", "|",
]  # fmt: skip


def _mention(sigil: str, ident: str, label: str | None) -> str:
    return f"<{sigil}{ident}" + (f"|{label}" if label is not None else "") + ">"


mentions = st.builds(
    _mention,
    st.sampled_from(["@", "#", "!subteam^", "!", "@@", "#@", "!subteam", ""]),
    st.text(alphabet=ID_CHARS, max_size=140) | st.text(max_size=20),
    st.none() | st.text(max_size=140),
)
words = st.sampled_from(WORDS) | mentions | st.text(max_size=16)
separators = st.sampled_from([" ", "  ", "\t", "\n", "\u00a0", "\u3000", ""])
texts = st.builds(
    lambda parts, seps: "".join(p + s for p, s in zip(parts, seps, strict=False)),
    st.lists(words, max_size=10),
    st.lists(separators, min_size=10, max_size=10),
)
TARGET_ID = re.compile(r"[A-Za-z0-9._:@+-]{1,128}")


def _well_formed(intent: Intent) -> None:
    assert intent.name in set(get_args(IntentName))
    target = intent.target
    if target is not None:
        assert target.kind in {"user", "channel", "usergroup"}
        assert TARGET_ID.fullmatch(target.id), target
        assert ">" not in target.label and len(target.label) <= 128


@FUZZ
@given(texts)
def test_intent_parser_on_mention_shaped_text(text: str) -> None:
    first = parse_command(text)
    _well_formed(first)
    _well_formed(parse_message(text))
    assert parse_command(text) == first  # deterministic: no hidden state


@FUZZ
@given(texts.filter(lambda t: not t.lstrip().startswith(("<", "/calendar"))))
def test_the_calendar_prefix_changes_nothing(text: str) -> None:
    bare, prefixed = parse_command(text), parse_command(f"/calendar {text}")
    assert (bare.name, bare.target) == (prefixed.name, prefixed.target)


bot_mentions = st.builds(
    lambda ident, label: f"<@{ident}" + (f"|{label}" if label else "") + ">",
    st.text(alphabet=ID_CHARS, min_size=1, max_size=20),
    st.none() | st.text(alphabet=st.characters(blacklist_characters=">"), max_size=30),
)


@FUZZ
@given(bot_mentions, texts.filter(lambda t: not t.lstrip().startswith(("<@", "/calendar"))))
def test_a_leading_bot_mention_is_ignored(bot: str, text: str) -> None:
    """`@calbot connect` in a channel means `connect`, whatever the mention looks like."""
    plain, mentioned = parse_command(text), parse_message(f"{bot} {text}")
    assert (plain.name, plain.target) == (mentioned.name, mentioned.target)


# --- the AADSTS / error-page parser ------------------------------------------------------------

guids = st.uuids().map(str) | st.text(alphabet="0123456789abcdefABCDEF-", max_size=40)
codes = st.integers(min_value=0, max_value=10**10).map(lambda n: f"AADSTS{n}")
timestamps = st.datetimes().map(lambda d: d.isoformat() + "Z") | st.text(
    alphabet="0123456789-:TZ. +", max_size=40
)
fields = st.sampled_from(
    [
        "Request Id",
        "Correlation Id",
        "Trace ID",
        "Timestamp",
        "Zeitstempel",
        "Horodatage",
        "App name",
        "App id",
        "Application ID",
        "Error Code",
        "Message",
        "error",
        '"error"',
        '"error_codes"',
    ]
)
field_lines = st.builds(
    lambda f, sep, v: f"{f}{sep}{v}",
    fields,
    st.sampled_from([": ", ":", " = ", "\t", "", ": [", '": "']),
    guids | codes | timestamps | st.text(max_size=60),
)
fragments = (
    field_lines
    | codes
    | st.builds(lambda c, m: f"{c}: {m}", codes, st.text(max_size=80))
    | st.builds(
        lambda e, d: f"https://x.invalid/cb?error={e}&error_description={d}",
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", max_size=45),
        st.text(max_size=60).map(lambda s: "".join(f"%{ord(c) % 256:02X}" for c in s)),
    )
    | st.sampled_from(
        [
            "Need admin approval",
            "Approval required",
            "This app is blocked",
            "Cronofy for Office 365",
            "f573e3d3-ea9c-4d8d-9d8f-20107b8cedbd",
            "Administratorgenehmigung erforderlich",
            "%",
            "%%2",
            '{"error_codes":[',
            "\x00",
        ]
    )
    | st.text(max_size=80)
)
pastes = st.lists(fragments, max_size=12).map("\n".join)


@contextmanager
def _no_defensive_path() -> Iterator[list[logging.LogRecord]]:
    """Fail if the parser's or classifier's catch-all logged an exception."""
    caught: list[logging.LogRecord] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "_failed" in str(record.msg):
                caught.append(record)

    handler = Catch(level=logging.ERROR)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield caught
    finally:
        root.removeHandler(handler)
    assert caught == [], [r.getMessage() for r in caught]


@FUZZ
@given(pastes)
def test_error_text_parser_on_error_page_shaped_text(text: str) -> None:
    with _no_defensive_path():
        parsed = parse_error_text(text)
        assert isinstance(parsed, ParsedError)
        assert all(re.fullmatch(r"AADSTS[0-9]{5,7}", c) for c in parsed.codes), parsed.codes
        assert parsed.primary_code is None or parsed.primary_code in parsed.codes
        assert parsed.timestamp is None or isinstance(parsed.timestamp, datetime)
        assert parsed.timestamp is None or parsed.timestamp.tzinfo is not None
        for guid in (parsed.request_id, parsed.correlation_id, parsed.trace_id):
            assert guid is None or (len(guid) <= 64 and guid == guid.lower())
        assert parse_error_text(text) == parsed


@FUZZ
@given(
    pastes,
    st.none() | st.text(max_size=40),
    st.none() | st.text(max_size=200),
    st.none() | st.text(max_size=40),
    st.booleans(),
)
def test_classifier_on_error_page_shaped_text(
    text: str, oauth_error: str | None, description: str | None, button: str | None, stalled: bool
) -> None:
    with _no_defensive_path():
        for parsed in (text, parse_error_text(text)):
            result = classify(
                parsed,
                oauth_error=oauth_error,
                error_description=description,
                button_choice=button,
                stalled=stalled,
            )
            assert result.evidence
            assert result.code is None or re.fullmatch(r"AADSTS[0-9]{5,7}", result.code)

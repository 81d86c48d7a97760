"""Hypothesis through the real inbound surfaces: never a 500, never an exception in the
core. One running calbot per test function (hypothesis runs every example against it),
so the state the examples leave behind is part of what is fuzzed.

- Slack: slash-command text and `block_actions` / `view_submission` payloads of random
  shape, correctly signed, through `/slack/events` (so bolt, our listeners and the core
  all run). The answer must be the 200 ack or a clean 4xx, and no listener may log that
  the core raised ("… failed" with a traceback).
- The core directly: random action ids and values pressed by a console user, random
  form submissions — every button value is attacker-chosen, so none may raise.
- Cronofy: random bodies correctly signed, to a real channel and to unknown keys:
  202 or 404, never 500.

No example ever makes calbot call a host other than 127.0.0.1: response_urls are the
mock's or unusable strings.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.identity import ChatProfile
from bot.messages import Message
from integrations.cronofy.push import HEADER, sign
from tests.fakes.slack_payloads import FORM, JSON, block_actions_body, command_body
from tests.integrations.slack.conftest import Calbot
from tests.security.test_fuzz_parsers import texts
from tests.support import RunningCalbot

# One app per test function: hypothesis must not complain that the fixture is shared.
APP_FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# A slash command's after-ack work (users.info, the core, respond) is the slowest example.
COMMAND_FUZZ = settings(APP_FUZZ, max_examples=100)

ACTION_IDS = [
    "connect.open", "connect.reconnect", "connect.disconnect", "status.nudge_one",
    "status.nudge_all", "status.refresh", "consent.answer", "consent.fixed",
    "consent.checklist", "consent.dismiss", "consent.option", "consent.open_link",
    "health.relink", "propose.accept", "propose.decline", "propose.none", "propose.cancel",
    "propose.next", "propose.nudge", "propose.retry",
]  # fmt: skip
action_ids = (
    st.sampled_from(ACTION_IDS)
    | st.sampled_from(ACTION_IDS).map(lambda a: f"{a}#{3}")  # the renderer's unique suffix
    | st.text(max_size=40)
)
values = (
    st.sampled_from(["1", "0", "-1", "self", "channel:C1", "usergroup:S1", "workspace:", "A"])
    | st.integers().map(str)
    | st.builds(lambda a, b: f"{a}:{b}", st.integers(), st.integers())
    | st.sampled_from(["²", "١٢", "1e3", "9" * 30, " 1", "1\n", "channel:", ":", "::"])
    | st.text(max_size=60)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _maybe(valid: Any) -> st.SearchStrategy[Any]:
    """Mostly the real shape, sometimes anything at all."""
    return st.one_of(st.just(valid), st.just(valid), st.just(valid), json_values)


@contextmanager
def _core_never_raises() -> Iterator[None]:
    """Listeners catch the core's exceptions (the user gets an apology) and log them; a
    random button or text that reaches that path is a bug even though Slack sees 200."""
    caught: list[logging.LogRecord] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.exc_info is not None:
                caught.append(record)

    handler = Catch(level=logging.ERROR)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    details = [f"{r.name}: {r.getMessage()}: {r.exc_info[1]!r}" for r in caught if r.exc_info]
    assert caught == [], details


# --- Slack -------------------------------------------------------------------------------------


@COMMAND_FUZZ
@given(
    text=texts | st.text(max_size=300),
    user=st.sampled_from(["U1", "U2", "UNKNOWN"]),
    channel=st.sampled_from(["C1", "D1", "G1", ""]),
)
async def test_slash_command_text_is_always_acked(
    slackbot: Calbot, text: str, user: str, channel: str
) -> None:
    body = command_body(
        text, user_id=user, channel_id=channel, response_url=slackbot.slack.response_url()
    )
    with _core_never_raises():
        response = await slackbot.post(body, FORM)
        assert response.status == 200, await response.text()
        await slackbot.idle()


def _block_actions(
    response_url: str,
    action_id: Any,
    value: Any,
    user: Any,
    team: Any,
    actions: Any,
    container: Any,
) -> dict[str, Any]:
    body = block_actions_body(str(action_id), str(value), response_url=response_url)
    payload: dict[str, Any] = json.loads(dict(_form(body))["payload"])
    payload["actions"][0]["action_id"] = action_id
    payload["actions"][0]["value"] = value
    payload.update(user=user, team=team, container=container)
    if actions is not None:
        payload["actions"] = actions
    return payload


def _form(body: str) -> list[tuple[str, str]]:
    return parse_qsl(body)


RESPONSE_URLS = st.sampled_from(["mock", None, "", "not a url", "http://127.0.0.1:9/closed"])


@st.composite
def interactive_payloads(draw: st.DrawFn, mock_response_url: str) -> Any:
    kind = draw(st.sampled_from(["block_actions", "view_submission", "garbage", "other-type"]))
    response_url = draw(RESPONSE_URLS)
    if response_url == "mock":
        response_url = mock_response_url
    if kind == "garbage":
        return draw(json_values)
    user = draw(_maybe({"id": draw(st.sampled_from(["U1", "U2", "W9"])), "team_id": "T1"}))
    team = draw(_maybe({"id": draw(st.sampled_from(["T1", "T2"])), "domain": "x"}))
    if kind == "block_actions":
        return _block_actions(
            str(response_url),
            draw(_maybe(draw(action_ids))),
            draw(_maybe(draw(values))),
            user,
            team,
            draw(st.none() | st.lists(json_values, max_size=2)),
            draw(_maybe({"type": "message", "message_ts": "1.1", "channel_id": "D1"})),
        )
    if kind == "view_submission":
        state = draw(
            st.dictionaries(
                st.text(max_size=10),
                st.dictionaries(st.text(max_size=10), json_values, max_size=2),
                max_size=4,
            )
        )
        return {
            "type": "view_submission",
            "team": team,
            "user": user,
            "api_app_id": "ACALBOT",
            "view": draw(
                _maybe(
                    {
                        "id": "V1",
                        "type": "modal",
                        "callback_id": draw(st.sampled_from(["propose", "", "x"])),
                        "private_metadata": draw(st.text(max_size=30)),
                        "state": {"values": state},
                    }
                )
            ),
        }
    return {
        "type": draw(st.text(max_size=20)),
        "team": team,
        "user": user,
        "api_app_id": "ACALBOT",
        "actions": draw(json_values),
    }


@APP_FUZZ
@given(data=st.data())
async def test_interactive_payloads_of_any_shape_get_200_or_a_clean_4xx(
    slackbot: Calbot, data: st.DataObject
) -> None:
    payload = data.draw(interactive_payloads(slackbot.slack.response_url("fuzz")))
    as_form = data.draw(st.booleans())
    if as_form:
        body, content_type = urlencode({"payload": json.dumps(payload)}), FORM
    else:
        body, content_type = json.dumps(payload), JSON
    with _core_never_raises():
        response = await slackbot.post(body, content_type)
        assert response.status < 500, await response.text()
        assert response.status in (200, 400, 404), response.status
        await slackbot.idle()


# --- the core, through the console session ---------------------------------------------------


@APP_FUZZ
@given(
    action_id=action_ids,
    value=values,
    who=st.sampled_from(["alice", "bob", "mallory"]),
)
async def test_any_button_value_is_answered_not_raised(
    calbot: RunningCalbot, action_id: str, value: str, who: str
) -> None:
    """What a hostile client can put in a button press reaches `Bot.action` as is."""
    calbot.console.profiles.setdefault("alice", _admin())
    reply = await calbot.session(who).press_action(action_id, value)
    assert reply is None or isinstance(reply, Message)
    await calbot.settle()


@APP_FUZZ
@given(
    form_values=st.dictionaries(
        st.sampled_from(
            [
                "candidate",
                "candidate_email",
                "title",
                "duration",
                "required",
                "pool",
                "pool_required",
                "window_start",
                "window_end",
                "min_notice_hours",
                "buffer_before",
                "buffer_after",
                "count",
                "tz",
                "other",
            ]
        ),
        st.text(max_size=30) | st.lists(st.text(max_size=12), max_size=3) | values,
        max_size=15,
    ),
    form_id=st.sampled_from(["propose", "other", ""]),
)
async def test_any_form_submission_is_answered_not_raised(
    calbot: RunningCalbot, form_values: dict[str, Any], form_id: str
) -> None:
    result = await calbot.session("alice").submit(form_id, form_values)
    assert isinstance(result, (dict, Message))
    await calbot.settle()


def _admin() -> ChatProfile:
    return ChatProfile("Alice Admin", "alice@contoso.com", "Europe/London", is_admin=True)


# --- Cronofy ----------------------------------------------------------------------------------


@pytest.fixture
async def channel_url(calbot: RunningCalbot) -> str:
    await calbot.connect_calendar("alice")
    [channel] = calbot.runtime.sandbox.state.channels()
    return str(channel.callback_url)


NOTIFICATION_TYPES = [
    "profile_disconnected",
    "profile_initial_sync_required",
    "change",
    "verification",
    "",
]
notification_bodies = (
    st.builds(
        lambda kind, extra, channel: json.dumps(
            {"notification": {"type": kind, **extra}, "channel": channel}
        ).encode(),
        st.sampled_from(NOTIFICATION_TYPES) | st.text(max_size=20) | json_values,
        st.dictionaries(st.text(max_size=8), json_values, max_size=3),
        json_values,
    )
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=300)
)


@APP_FUZZ
@given(body=notification_bodies, key=st.sampled_from(["real", "unknown"]) | st.text(max_size=30))
async def test_signed_notifications_of_any_body_are_202_or_404(
    calbot: RunningCalbot, channel_url: str, body: bytes, key: str
) -> None:
    if key == "real":
        url = channel_url
    else:
        url = channel_url.rsplit("/", 1)[0] + "/" + quote(key or "x", safe="")
    with _core_never_raises():
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.post(
                url, content=body, headers={HEADER: sign(body, "sandbox-secret")}
            )
        assert answer.status_code in (202, 404), (answer.status_code, answer.text)
        await calbot.settle()

"""`POST /slack/events` refuses what Slack did not send, and processes a retry once.

Every refusal is checked the same way: the status, then "nothing processed" — the
database is row-for-row what it was and the mock Slack saw no Web API call at all (not
even `auth.test`, so the request was refused before bolt's authorize step). The basic
unsigned / wrong-secret / tampered / stale cases also live in
tests/integrations/slack/test_requests.py; these are the variants around them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest

from tests.fakes.slack_payloads import (
    FORM,
    JSON,
    block_actions_body,
    command_body,
    dm_event,
    event_body,
    signed_headers,
)
from tests.integrations.slack.conftest import SECRET, Calbot
from tests.security.support import changed_tables, db_snapshot

ONE_MEGABYTE = 1024 * 1024  # the web app's client_max_size


async def _post(calbot: Calbot, body: str | bytes, headers: dict[str, str]) -> tuple[int, str]:
    data = body.encode() if isinstance(body, str) else body
    response = await calbot.client.post("/slack/events", data=data, headers=headers)
    return response.status, await response.text()


async def _refused(calbot: Calbot, body: str | bytes, headers: dict[str, str]) -> int:
    """POST, then prove nothing happened. Returns the status for the caller to check."""
    before = await db_snapshot(calbot.runtime.engine)
    status, text = await _post(calbot, body, headers)
    await calbot.idle()
    await calbot.runtime.outbox.drain()
    assert status < 500, text
    assert "Traceback" not in text
    assert changed_tables(before, await db_snapshot(calbot.runtime.engine)) == {}
    assert calbot.slack.calls == [], [c.method for c in calbot.slack.calls]
    return status


def _command(calbot: Calbot, text: str = "connect", **kwargs: str) -> str:
    return command_body(text, response_url=calbot.slack.response_url("cmd"), **kwargs)


# --- signature headers ---------------------------------------------------------------------


async def test_signature_header_missing(slackbot: Calbot) -> None:
    body = _command(slackbot)
    headers = signed_headers(body, SECRET) | {"Content-Type": FORM}
    del headers["X-Slack-Signature"]
    assert await _refused(slackbot, body, headers) == 401


async def test_timestamp_header_missing(slackbot: Calbot) -> None:
    body = _command(slackbot)
    headers = signed_headers(body, SECRET) | {"Content-Type": FORM}
    del headers["X-Slack-Request-Timestamp"]
    assert await _refused(slackbot, body, headers) == 401


@pytest.mark.parametrize(
    "timestamp", ["abc", "", " 1", "+1", "1_000", "1.5", "\u0661\u0662", "9" * 5000]
)
async def test_timestamp_that_is_not_plain_seconds(
    slackbot: Calbot, timestamp: str, caplog: pytest.LogCaptureFixture
) -> None:
    """slack_sdk's verifier would raise on these inside bolt: a 500 and a traceback."""
    body = _command(slackbot)
    headers = signed_headers(body, SECRET) | {"Content-Type": FORM}
    headers["X-Slack-Request-Timestamp"] = timestamp
    with caplog.at_level(logging.INFO):
        assert await _refused(slackbot, body, headers) == 401
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_refused_request_body_is_not_logged(
    slackbot: Calbot, caplog: pytest.LogCaptureFixture
) -> None:
    """bolt logs a refused request's body at INFO; the body holds a live response_url."""
    body = _command(slackbot)
    headers = signed_headers(body, "not-the-secret") | {"Content-Type": FORM}
    with caplog.at_level(logging.DEBUG):
        assert await _refused(slackbot, body, headers) == 401
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "response_url" not in logged
    assert "Invalid request signature" not in logged


@pytest.mark.parametrize(
    "signature",
    [
        "",
        "v0=",
        "v0=" + "0" * 64,
        "v1={hex}",  # right digest, unknown version
        "{hex}",  # right digest, no version
        "v0={hex}0",  # right digest, one character longer
        "V0={HEX}",  # upper case is a different string
        "v0=zz" + "0" * 62,
    ],
)
async def test_malformed_or_wrong_signature(slackbot: Calbot, signature: str) -> None:
    body = _command(slackbot)
    good = signed_headers(body, SECRET)
    digest = good["X-Slack-Signature"].removeprefix("v0=")
    headers = good | {
        "Content-Type": FORM,
        "X-Slack-Signature": signature.format(hex=digest, HEX=digest.upper()),
    }
    assert await _refused(slackbot, body, headers) == 401


async def test_signature_of_another_timestamp(slackbot: Calbot) -> None:
    """A captured signature can't be moved to a fresh timestamp: the timestamp is signed."""
    body = _command(slackbot)
    old = signed_headers(body, SECRET, timestamp=int(time.time()) - 600)
    headers = {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": old["X-Slack-Signature"],
    }
    assert await _refused(slackbot, body, headers) == 401


# --- replay window ---------------------------------------------------------------------------


async def test_replay_older_than_five_minutes(slackbot: Calbot) -> None:
    body = _command(slackbot)
    headers = signed_headers(body, SECRET, timestamp=int(time.time()) - 5 * 60 - 1)
    assert await _refused(slackbot, body, headers | {"Content-Type": FORM}) == 401


async def test_inside_the_window_is_accepted(slackbot: Calbot) -> None:
    """The control for the replay test: the same request 4½ minutes old is processed."""
    body = _command(slackbot, "help")
    headers = signed_headers(body, SECRET, timestamp=int(time.time()) - 270)
    status, _ = await _post(slackbot, body, headers | {"Content-Type": FORM})
    assert status == 200
    await slackbot.idle()
    assert [c.method for c in slackbot.slack.calls if c.method == "response_url"] == [
        "response_url"
    ]


# --- body altered after signing --------------------------------------------------------------


async def test_parameter_appended_after_signing(slackbot: Calbot) -> None:
    """Appending `&user_id=` would make the request act as the admin if it got through."""
    body = _command(slackbot, "team")
    headers = signed_headers(body, SECRET) | {"Content-Type": FORM}
    assert await _refused(slackbot, body + "&user_id=U2", headers) == 401


async def test_button_value_altered_after_signing(slackbot: Calbot) -> None:
    body = block_actions_body(
        "status.nudge_all", "channel:C1", user_id="U2", response_url=slackbot.slack.response_url()
    )
    headers = signed_headers(body, SECRET) | {"Content-Type": FORM}
    altered = body.replace("channel%3AC1", "channel%3AC2")
    assert altered != body
    assert await _refused(slackbot, altered, headers) == 401


async def test_event_json_altered_after_signing(slackbot: Calbot) -> None:
    body = event_body(dm_event("help"), event_id="EvAltered")
    headers = signed_headers(body, SECRET) | {"Content-Type": JSON}
    assert await _refused(slackbot, body.replace('"help"', '"connect"'), headers) == 401


async def test_body_truncated_after_signing(slackbot: Calbot) -> None:
    body = _command(slackbot)
    headers = signed_headers(body, SECRET) | {"Content-Type": FORM}
    assert await _refused(slackbot, body[:-1], headers) == 401


# --- content type and malformed bodies ----------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "multipart/form-data; boundary=xyz", "application/xml", None],
)
async def test_wrong_content_type_is_415(slackbot: Calbot, content_type: str | None) -> None:
    """Slack sends form-encoded commands and actions and JSON events, nothing else;
    a correctly signed body with another type is refused, not guessed at."""
    body = _command(slackbot)
    headers = signed_headers(body, SECRET)
    if content_type is not None:
        headers["Content-Type"] = content_type
    assert await _refused(slackbot, body, headers) == 415


async def test_json_content_type_with_a_form_body_is_400(slackbot: Calbot) -> None:
    """Was a 500: bolt parsed the body as JSON (before checking the signature) and raised."""
    body = _command(slackbot)
    assert (
        await _refused(slackbot, body, signed_headers(body, SECRET) | {"Content-Type": JSON}) == 400
    )


@pytest.mark.parametrize(
    "body",
    ["payload=not-json", "payload=%5B%5D", "payload=null", "payload=42", "payload=%22s%22"],
)
@pytest.mark.parametrize("signed", [True, False])
async def test_payload_that_is_not_a_json_object_is_400(
    slackbot: Calbot, body: str, signed: bool
) -> None:
    """Was a 500, signed or not: bolt called `.get` on whatever `payload` decoded to."""
    headers = {"Content-Type": FORM} | (signed_headers(body, SECRET) if signed else {})
    assert await _refused(slackbot, body, headers) == 400


async def test_signed_json_that_is_not_an_object_is_400(slackbot: Calbot) -> None:
    for body in ("[1, 2]", "null", "{not json"):
        headers = signed_headers(body, SECRET) | {"Content-Type": JSON}
        assert await _refused(slackbot, body, headers) == 400, body


# --- oversized bodies ----------------------------------------------------------------------


@pytest.mark.parametrize("signed", [True, False])
async def test_body_over_one_megabyte_is_413(slackbot: Calbot, signed: bool) -> None:
    """aiohttp's `client_max_size` (1 MB) turns into a clean 413 when bolt reads the body."""
    body = _command(slackbot) + "&padding=" + "x" * ONE_MEGABYTE
    headers = {"Content-Type": FORM} | (signed_headers(body, SECRET) if signed else {})
    assert await _refused(slackbot, body, headers) == 413


async def test_chunked_body_over_one_megabyte_is_413(slackbot: Calbot) -> None:
    """Without a Content-Length the limit still holds while the body is read."""
    body = _command(slackbot) + "&padding=" + "x" * ONE_MEGABYTE
    headers = signed_headers(body, SECRET) | {"Content-Type": FORM}

    async def chunks() -> AsyncIterator[bytes]:
        data = body.encode()
        for start in range(0, len(data), 64 * 1024):
            yield data[start : start + 64 * 1024]

    before = await db_snapshot(slackbot.runtime.engine)
    response = await slackbot.client.post("/slack/events", data=chunks(), headers=headers)
    assert response.status == 413
    await slackbot.idle()
    assert changed_tables(before, await db_snapshot(slackbot.runtime.engine)) == {}
    assert slackbot.slack.calls == []


# --- retries and duplicate event ids -------------------------------------------------------


async def test_concurrent_deliveries_of_one_event_are_processed_once(slackbot: Calbot) -> None:
    """Slack's retries can overlap the first delivery (it retries after 3 s even if we are
    still working); the event id is claimed in the database, so racing copies lose."""
    body = event_body(dm_event("help", ts="1700000500.000500"), event_id="EvRace")
    copies = [
        signed_headers(body, SECRET)
        | {"Content-Type": JSON}
        | ({"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"} if n else {})
        for n in range(5)
    ]
    statuses = await asyncio.gather(*(_post(slackbot, body, h) for h in copies))
    assert [s for s, _ in statuses] == [200] * 5
    await slackbot.idle()
    assert len(slackbot.slack.calls_to("chat.postMessage")) == 1
    assert len(slackbot.slack.calls_to("users.info")) == 1


async def test_same_event_id_with_another_body_is_still_a_duplicate(slackbot: Calbot) -> None:
    """The id, not the body, decides: a retry is never processed twice even if Slack's
    copy differs (e.g. a later `event_time`)."""
    # Both copies' work may start together and race for the claim, so either may win;
    # each of these commands answers with exactly one message and sends nothing else.
    first = event_body(dm_event("help", ts="1700000600.000600"), event_id="EvSame")
    second = event_body(dm_event("status", ts="1700000601.000601"), event_id="EvSame")
    for body in (first, second):
        status, _ = await _post(
            slackbot, body, signed_headers(body, SECRET) | {"Content-Type": JSON}
        )
        assert status == 200
    await slackbot.idle()
    await slackbot.runtime.outbox.drain()
    assert len(slackbot.slack.calls_to("chat.postMessage")) == 1
